package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Error is a problem with one key of the config, printed as one line.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "config: " + e.Problem
	}
	return "config: " + e.Key + ": " + e.Problem
}

func keyErr(key, format string, args ...any) *Error {
	return &Error{Key: key, Problem: fmt.Sprintf(format, args...)}
}

// Load reads, overrides from the environment, fills in defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Problem: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))}
	}
	return Parse(data, os.LookupEnv)
}

// Parse does what Load does on the bytes of a config file; lookupEnv supplies the
// environment (os.LookupEnv in production, a map in tests).
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	v := viper.NewWithOptions(viper.EnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_")))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &Error{Problem: oneLine(err.Error())}
	}
	// Only environment variables that name a key present in the file or among the
	// defaults can override it; bind them explicitly so no global env state is read
	// behind the caller's back.
	registerDefaults(v)
	keys := v.AllKeys()
	// A cluster named in the file may take any of its keys from the environment, so a
	// file can leave its credentials out (FEDKEEPER_PROVIDERS_OPENWHISK_LAB_AUTH_OW_AUTH).
	for platform, cluster := range map[string]reflect.Type{
		"openwhisk": reflect.TypeFor[OpenWhiskCluster](),
		"google":    reflect.TypeFor[GoogleCluster](),
		"openfaas":  reflect.TypeFor[OpenFaaSCluster](),
		"aws":       reflect.TypeFor[AWSCluster](),
	} {
		if clusters, ok := v.Get("providers." + platform).(map[string]any); ok {
			for name := range clusters {
				for _, leaf := range leafKeys(cluster) {
					keys = append(keys, "providers."+platform+"."+name+"."+leaf)
				}
			}
		}
	}
	for _, key := range keys {
		name := EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
		if value, ok := lookupEnv(name); ok {
			v.Set(key, value)
		}
	}
	var cfg Config
	decode := func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
		dc.ZeroFields = false
	}
	if err := v.Unmarshal(&cfg, decode); err != nil {
		return nil, decodeError(err)
	}
	keepEmptySections(v, &cfg)
	cfg.normalise()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// leafKeys lists the dotted mapstructure keys of a struct's non-struct fields.
func leafKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			for _, sub := range leafKeys(f.Type) {
				out = append(out, tag+"."+sub)
			}
			continue
		}
		if f.Type.Kind() != reflect.Map {
			out = append(out, tag)
		}
	}
	return out
}

// keepEmptySections restores what viper drops when unmarshalling: sections written as
// `name: {}` or `name:`, such as a cluster that takes every default (an embedded one)
// or a function's platform section.
func keepEmptySections(v *viper.Viper, cfg *Config) {
	names := func(key string) []string {
		m, ok := v.Get(key).(map[string]any)
		if !ok {
			return nil
		}
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	for _, name := range names("providers.openwhisk") {
		if _, ok := cfg.Providers.OpenWhisk[name]; !ok {
			if cfg.Providers.OpenWhisk == nil {
				cfg.Providers.OpenWhisk = map[string]OpenWhiskCluster{}
			}
			cfg.Providers.OpenWhisk[name] = OpenWhiskCluster{}
		}
	}
	for _, name := range names("providers.google") {
		if _, ok := cfg.Providers.Google[name]; !ok {
			if cfg.Providers.Google == nil {
				cfg.Providers.Google = map[string]GoogleCluster{}
			}
			cfg.Providers.Google[name] = GoogleCluster{}
		}
	}
	for _, name := range names("providers.openfaas") {
		if _, ok := cfg.Providers.OpenFaaS[name]; !ok {
			if cfg.Providers.OpenFaaS == nil {
				cfg.Providers.OpenFaaS = map[string]OpenFaaSCluster{}
			}
			cfg.Providers.OpenFaaS[name] = OpenFaaSCluster{}
		}
	}
	for _, name := range names("providers.aws") {
		if _, ok := cfg.Providers.AWS[name]; !ok {
			if cfg.Providers.AWS == nil {
				cfg.Providers.AWS = map[string]AWSCluster{}
			}
			cfg.Providers.AWS[name] = AWSCluster{}
		}
	}
	fixFunctions := func(prefix string, fns *map[string]Function) {
		for _, name := range names(prefix) {
			if *fns == nil {
				*fns = map[string]Function{}
			}
			fn := (*fns)[name]
			sections := map[string]bool{}
			for _, s := range names(prefix + "." + name) {
				sections[s] = true
			}
			if fn.OpenWhisk == nil && sections["openwhisk"] {
				fn.OpenWhisk = &OpenWhiskFunction{}
			}
			if fn.Google == nil && sections["google"] {
				fn.Google = &GoogleFunction{}
			}
			if fn.OpenFaaS == nil && sections["openfaas"] {
				fn.OpenFaaS = &OpenFaaSFunction{}
			}
			if fn.AWS == nil && sections["aws"] {
				fn.AWS = &AWSFunction{}
			}
			(*fns)[name] = fn
		}
	}
	fixFunctions("scenarios.federated_learning.functions", &cfg.Scenarios.FederatedLearning.Functions)
	fixFunctions("scenarios.test.functions", &cfg.Scenarios.Test.Functions)
}

// decodeError turns mapstructure's (possibly joined) errors into one line about the
// first offending key in key order.
func decodeError(err error) error {
	var found []*mapstructure.DecodeError
	var walk func(error)
	walk = func(e error) {
		var de *mapstructure.DecodeError
		if errors.As(e, &de) && !hasJoined(e) {
			found = append(found, de)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		if inner := errors.Unwrap(e); inner != nil {
			walk(inner)
		}
	}
	walk(err)
	if len(found) == 0 {
		return &Error{Problem: oneLine(err.Error())}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name() < found[j].Name() })
	de := found[0]
	var pe *mapstructure.ParseError
	var ue *mapstructure.UnconvertibleTypeError
	inner := de.Unwrap()
	switch {
	case errors.As(inner, &pe):
		return keyErr(de.Name(), "cannot read %s as %s", describe(pe.Value), typeName(pe.Expected.Type()))
	case errors.As(inner, &ue):
		return keyErr(de.Name(), "expected %s, got %s", typeName(ue.Expected.Type()), describe(ue.Value))
	}
	msg := inner.Error()
	if rest, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
		return keyErr(de.Name(), "unknown key(s) %s", rest)
	}
	return keyErr(de.Name(), "%s", oneLine(msg))
}

func hasJoined(e error) bool {
	_, ok := e.(interface{ Unwrap() []error })
	return ok
}

func describe(value any) string {
	switch x := value.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v (%T)", value, value)
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
