package bootstrap

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/logging"
)

// Setup is what every binary does first: load the config and build its logger. It
// also returns the config file's folder, against which relative paths resolve. Its
// errors are one line, ready to print.
func Setup(configPath string, jsonLogs bool) (*config.Config, *slog.Logger, string, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, nil, "", err
	}
	logger, err := logging.New(os.Stderr, cfg.Log.Level, jsonLogs || cfg.Log.Format == "json")
	if err != nil {
		return nil, nil, "", fmt.Errorf("config: log.level: %w", err)
	}
	baseDir, err := filepath.Abs(filepath.Dir(configPath))
	if err != nil {
		return nil, nil, "", fmt.Errorf("config: %w", err)
	}
	return cfg, logger, baseDir, nil
}
