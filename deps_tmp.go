//go:build tools

package main
import (
 _ "github.com/sigstore/cosign/v2/pkg/cosign"
 _ "github.com/sigstore/cosign/v2/pkg/oci/remote"
 _ "github.com/sigstore/cosign/v2/pkg/oci/static"
 _ "github.com/sigstore/cosign/v2/pkg/oci/mutate"
 _ "github.com/sigstore/sigstore-go/pkg/sign"
 _ "github.com/sigstore/sigstore-go/pkg/verify"
 _ "github.com/sigstore/sigstore-go/pkg/root"
 _ "github.com/sigstore/sigstore/pkg/oauthflow"
 _ "github.com/google/go-containerregistry/pkg/v1/remote"
 _ "github.com/google/go-containerregistry/pkg/registry"
 _ "github.com/sethvargo/go-githubactions"
 _ "github.com/google/go-cmp/cmp"
)

