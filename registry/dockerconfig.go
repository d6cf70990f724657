package registry

import (
	"fmt"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
)

func loadDockerConfig(dir string) (*configfile.ConfigFile, error) {
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("reading docker config in %s: %w", dir, err)
	}
	return cf, nil
}
