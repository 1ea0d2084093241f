package weights

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// A version's audit (the updates it counted, see Global.Counted) lives in
// Collection+"_audits", one document per version, and not in the version's
// description: it grows with the round's clients, and FerretDB reads every description
// of the collection on any lookup of one, which would make every client's write cost
// as much as the whole audit.

type auditDoc struct {
	ID         string      `bson:"_id"`
	Experiment string      `bson:"experiment"`
	Version    int         `bson:"version"`
	Counted    []UpdateRef `bson:"counted"`
}

// putAudit stores a version's audit; a retried aggregation stores the same again.
func (s *Store) putAudit(ctx context.Context, g Global) error {
	if len(g.Counted) == 0 {
		return nil
	}
	id := globalID(g.Experiment, g.Version)
	doc := auditDoc{ID: id, Experiment: g.Experiment, Version: g.Version, Counted: g.Counted}
	if _, err := s.db.Collection(s.prefix+"_audits").ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("weights: store the audit of %s: %w", id, err)
	}
	return nil
}

// audits reads an experiment's audits by version.
func (s *Store) audits(ctx context.Context, experiment string) (map[int][]UpdateRef, error) {
	cur, err := s.db.Collection(s.prefix+"_audits").Find(ctx, bson.M{"experiment": experiment}, options.Find().SetBatchSize(100))
	if err != nil {
		return nil, fmt.Errorf("weights: read the audits of %s: %w", experiment, err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("weights: read the audits of %s: %w", experiment, err)
	}
	out := make(map[int][]UpdateRef, len(docs))
	for _, d := range docs {
		out[d.Version] = d.Counted
	}
	return out, nil
}
