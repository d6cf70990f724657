package app

import (
	"io/fs"
	"os"
)

type fsDirEntry = fs.DirEntry

func filterFiles(paths []string, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil
}
