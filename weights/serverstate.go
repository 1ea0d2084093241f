package weights

import (
	"context"
	"fmt"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
)

// A server optimiser's state after round n is stored like a global version (written
// once, checksummed, in chunks or the tensor directory) under the experiment name
// "<experiment>/server-state", version n, so an aggregation that is retried, or runs
// after a crash or a continue-as-new, steps from exactly the state the previous round
// left.

func serverStateKey(experiment string) string { return experiment + "/server-state" }

// PutServerState stores the optimiser state that aggregating version produced. Storing
// the same state again succeeds; different content is ErrConflict.
func (s *Store) PutServerState(ctx context.Context, experiment string, version int, st strategy.ServerState) error {
	n := len(st.M)
	manifest := []arch.Param{{Name: "m", Shape: []int{n}}}
	params := append([]float32(nil), st.M...)
	if st.V != nil {
		if len(st.V) != n {
			return fmt.Errorf("weights: server state with %d first and %d second moments", n, len(st.V))
		}
		manifest = append(manifest, arch.Param{Name: "v", Shape: []int{n}})
		params = append(params, st.V...)
	}
	_, err := s.PutGlobal(ctx, Global{Experiment: serverStateKey(experiment), Version: version, Manifest: manifest, Params: params, Updates: st.Rounds})
	if err != nil {
		return fmt.Errorf("server state of %s v%d: %w", experiment, version, err)
	}
	return nil
}

// GetServerState reads the optimiser state stored with version; ErrNotFound when none
// was (version 0, or rounds aggregated by a strategy without one).
func (s *Store) GetServerState(ctx context.Context, experiment string, version int) (strategy.ServerState, error) {
	g, err := s.GetGlobal(ctx, serverStateKey(experiment), version)
	if err != nil {
		return strategy.ServerState{}, err
	}
	if len(g.Manifest) == 0 || len(g.Manifest) > 2 || g.Manifest[0].Name != "m" {
		return strategy.ServerState{}, fmt.Errorf("%w: server state of %s v%d has the layout %v", ErrDamaged, experiment, version, g.Manifest)
	}
	n := g.Manifest[0].Size()
	st := strategy.ServerState{M: g.Params[:n:n], Rounds: g.Updates}
	if len(g.Manifest) == 2 {
		if g.Manifest[1].Name != "v" || g.Manifest[1].Size() != n {
			return strategy.ServerState{}, fmt.Errorf("%w: server state of %s v%d has the layout %v", ErrDamaged, experiment, version, g.Manifest)
		}
		st.V = g.Params[n:]
	}
	return st, nil
}
