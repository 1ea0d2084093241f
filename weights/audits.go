package weights

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// A version's audit (the updates it counted, see Global.Counted) and its lists of
// clients (Global.Clients, Global.Late) live in Collection+"_audits", one document per
// version, and not in the version's description: they grow with the round's clients,
// and FerretDB reads every description of the collection on any lookup of one. Kept in
// the description, version 1's list of 5,000 clients was decoded again by each of round
// 2's 5,000 clients reading its global model (a quarter of the keeper's CPU in a
// profile of that round).

type auditDoc struct {
	ID         string      `bson:"_id"`
	Experiment string      `bson:"experiment"`
	Version    int         `bson:"version"`
	Counted    []UpdateRef `bson:"counted"`
	Clients    []int       `bson:"clients,omitempty"`
	Late       []UpdateRef `bson:"late,omitempty"`
}

// putAudit stores a version's audit; a retried aggregation stores the same again.
func (s *Store) putAudit(ctx context.Context, g Global) error {
	if len(g.Counted) == 0 && len(g.Clients) == 0 && len(g.Late) == 0 {
		return nil
	}
	id := globalID(g.Experiment, g.Version)
	doc := auditDoc{ID: id, Experiment: g.Experiment, Version: g.Version, Counted: g.Counted, Clients: g.Clients, Late: g.Late}
	if _, err := s.db.Collection(s.prefix+"_audits").ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("weights: store the audit of %s: %w", id, err)
	}
	return nil
}

// auditOf reads one version's audit; a version without one has the zero audit.
func (s *Store) auditOf(ctx context.Context, experiment string, version int) (auditDoc, error) {
	var doc auditDoc
	err := s.db.Collection(s.prefix+"_audits").FindOne(ctx, bson.M{"_id": globalID(experiment, version)}).Decode(&doc)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return doc, fmt.Errorf("weights: read the audit of %s v%d: %w", experiment, version, err)
	}
	return doc, nil
}

// withAudit completes a description read from the store with its version's audit.
// Versions stored by earlier builds hold their lists of clients themselves.
func withAudit(info GlobalInfo, a auditDoc) GlobalInfo {
	info.Counted = a.Counted
	if info.Clients == nil {
		info.Clients = a.Clients
	}
	if info.Late == nil {
		info.Late = a.Late
	}
	return info
}

// audits reads an experiment's audits by version.
func (s *Store) audits(ctx context.Context, experiment string) (map[int]auditDoc, error) {
	cur, err := s.db.Collection(s.prefix+"_audits").Find(ctx, bson.M{"experiment": experiment}, options.Find().SetBatchSize(100))
	if err != nil {
		return nil, fmt.Errorf("weights: read the audits of %s: %w", experiment, err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("weights: read the audits of %s: %w", experiment, err)
	}
	out := make(map[int]auditDoc, len(docs))
	for _, d := range docs {
		out[d.Version] = d
	}
	return out, nil
}
