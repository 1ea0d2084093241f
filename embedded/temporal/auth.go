package temporal

import (
	"context"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"

	"github.com/fedkeeper/fedkeeper/httpauth"
)

// apiKeyClaims gives the holder of the server's API key ("authorization: Bearer KEY",
// what the Go SDK's API-key credentials send) administrator claims, and anyone else
// none. The embedded server has a single tenant, so there are no finer roles to map.
type apiKeyClaims struct{ key string }

func (m apiKeyClaims) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info == nil || !validBearer(info.AuthToken, m.key) {
		return &authorization.Claims{}, nil
	}
	return &authorization.Claims{Subject: "fedkeeper", System: authorization.RoleAdmin, AuthType: "api_key"}, nil
}

// AuthInfoRequired is false so that calls without any header reach the authorizer
// (and are denied there) rather than skipping claim mapping.
func (apiKeyClaims) AuthInfoRequired() bool { return false }

// validBearer compares a "Bearer KEY" header with the key in constant time.
func validBearer(header, key string) bool { return httpauth.Valid(header, key) }

// adminOnly lets administrators (the API key's holder, and the server's own system
// workers, which reach the internal frontend) call everything and others only the
// health checks.
type adminOnly struct{}

func (adminOnly) Authorize(_ context.Context, caller *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	if caller != nil && caller.System&authorization.RoleAdmin != 0 {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	return authorization.Result{Decision: authorization.DecisionDeny, Reason: "a valid API key is required"}, nil
}

func claimMapperFor(key string) func(*config.Config) authorization.ClaimMapper {
	return func(*config.Config) authorization.ClaimMapper { return apiKeyClaims{key: key} }
}
