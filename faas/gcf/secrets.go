package gcf

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"

	cloudfunctions "google.golang.org/api/cloudfunctions/v1"
	"google.golang.org/api/googleapi"
	secretmanager "google.golang.org/api/secretmanager/v1"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// A function's secrets live in Secret Manager, in the function's project: the function
// is deployed with references to them (secretEnvironmentVariables), which the platform
// resolves into environment variables when an instance starts, so describing or
// listing functions shows names and versions, never values. The function's service
// account needs the Secret Manager Secret Accessor role on them.

// secretRefs stores the secrets (a new version only when the latest holds another
// value) and returns the references to deploy the function with.
func (c *Client) secretRefs(ctx context.Context, secrets map[deployment.Setting]string) ([]*cloudfunctions.SecretEnvVar, error) {
	var refs []*cloudfunctions.SecretEnvVar
	for _, s := range slices.Sorted(maps.Keys(secrets)) {
		version, err := c.ensureSecret(ctx, s.Secret(), secrets[s])
		if err != nil {
			return nil, fmt.Errorf("gcf: secret %s: %w", s.Secret(), classify(err))
		}
		refs = append(refs, &cloudfunctions.SecretEnvVar{Key: s.Env(), ProjectId: c.project, Secret: s.Secret(), Version: version})
	}
	return refs, nil
}

// ensureSecret makes the secret hold value and returns the version that does: the
// latest when it holds value already, so deploying a hundred functions adds no version
// after the first. Nothing is cached: a cluster may have lost its secrets (a local
// fabric that restarted) since the last deployment.
func (c *Client) ensureSecret(ctx context.Context, id, value string) (string, error) {
	version := ""
	project := "projects/" + c.project
	_, err := c.sm.Projects.Secrets.Create(project, &secretmanager.Secret{
		Replication: &secretmanager.Replication{Automatic: &secretmanager.Automatic{}}}).SecretId(id).Context(ctx).Do()
	var gerr *googleapi.Error
	if err != nil && !(errors.As(err, &gerr) && gerr.Code == http.StatusConflict) {
		return "", err
	}
	name := project + "/secrets/" + id
	if latest, err := c.sm.Projects.Secrets.Versions.Access(name + "/versions/latest").Context(ctx).Do(); err == nil && latest.Payload != nil {
		if data, err := base64.StdEncoding.DecodeString(latest.Payload.Data); err == nil && string(data) == value {
			version = path.Base(latest.Name)
		}
	}
	if version == "" {
		added, err := c.sm.Projects.Secrets.AddVersion(name, &secretmanager.AddSecretVersionRequest{
			Payload: &secretmanager.SecretPayload{Data: base64.StdEncoding.EncodeToString([]byte(value))}}).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		version = path.Base(added.Name)
	}
	return version, nil
}
