package deploy

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// settings are what a function is deployed with, as little as it needs: nothing for
// the cluster test's nodeinfo; the token key for every other function; the store's
// address and tensor directory unless its cluster cannot reach MongoDB (its weights
// are relayed); and for the relay, the relayed clusters it may call.
func (b *Builder) settings(platform config.Platform, cluster, function string) (map[string]string, map[deployment.Setting]string) {
	if function == "nodeinfo" {
		return nil, nil
	}
	secrets := map[deployment.Setting]string{deployment.TokenKey: b.dep.TokenKey}
	if b.cfg.RelaysWeights(platform, cluster) {
		return nil, secrets
	}
	if b.dep.MongoURI != "" {
		secrets[deployment.MongoURI] = b.dep.MongoURI
	}
	var env map[string]string
	if b.dep.TensorDir != "" {
		env = map[string]string{deployment.TensorDir.Env(): b.dep.TensorDir}
	}
	if function == "fl_invoker_weights_update" {
		if targets := b.relayTargets(); len(targets) > 0 {
			data, _ := json.Marshal(targets)
			secrets[deployment.RelayTargets] = string(data)
		}
	}
	return env, secrets
}

// relayTargets are the client functions of the clusters whose weights are relayed,
// with the credentials to call them: an OpenFaaS gateway's basic authentication, a
// Cloud Functions trigger's static token (a service-account key yields short-lived
// ID tokens, which a deployment cannot hold; such clusters are left out).
func (b *Builder) relayTargets() map[string]deployment.Target {
	out := map[string]deployment.Target{}
	for _, p := range b.cfg.ClientPlacements() {
		key := string(p.Platform) + "/" + p.Cluster
		if _, ok := out[key]; ok || !b.cfg.RelaysWeights(p.Platform, p.Cluster) {
			continue
		}
		switch p.Platform {
		case config.OpenFaaS:
			c := b.cfg.Providers.OpenFaaS[p.Cluster]
			auth := base64.StdEncoding.EncodeToString([]byte(c.Auth.User + ":" + c.Auth.Password))
			out[key] = deployment.Target{URL: strings.TrimSuffix(c.Gateway, "/") + "/function/" + url.PathEscape(p.Function),
				Header: map[string]string{"Authorization": "Basic " + auth}}
		case config.Google:
			c := b.cfg.Providers.Google[p.Cluster]
			if c.AccessToken == "" || c.BaseURL == "" {
				continue
			}
			out[key] = deployment.Target{URL: strings.TrimSuffix(c.BaseURL, "/") + "/" + url.PathEscape(p.Function),
				Header: map[string]string{"Authorization": "Bearer " + c.AccessToken}}
		}
	}
	return out
}
