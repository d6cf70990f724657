// Command tbctl is the test bed's own helper, run by testbed/up.sh. It serves
// the parts of the bed written in this project and does the small jobs the
// shell scripts would otherwise need extra tools for:
//
//	tbctl serve     the GitHub runtime stand-in, the ghcr.io stand-ins (with
//	                their token endpoints and the HTML host one redirects to),
//	                Docker Hub's token service and its stand-in with the
//	                referrers API, and the host ends of the namespace bridges,
//	                in one process
//	tbctl bridge    the inner ends of the namespace bridges
//	tbctl ports N   print N free loopback TCP ports
//	tbctl secret    write a random secret to a file unless it exists
//	tbctl keygen    write a private key (PKCS#8 PEM) and its public key
//	tbctl tokenkey  write the registry token key and certificate unless they exist
//	tbctl enckey    write a private key again, password-encrypted (legacy PEM)
//	tbctl wait      poll a URL until it answers, bounded in time
//	tbctl get       download a URL to a file
//	tbctl tuf       write the bed's TUF repository (and two broken copies)
//	tbctl tufserve  serve them
//	tbctl tufcache  prime a TUF cache for clients of sigstore's older
//	                TUF client (Kyverno's CLI)
//	tbctl trustedroot    write a trusted root (trusted_root.json)
//	tbctl signingconfig  write a signing config (v0.2)
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

var commands = map[string]func(args []string) error{
	"serve":    serve,
	"bridge":   runBridge,
	"ports":    ports,
	"secret":   secret,
	"keygen":   keygen,
	"tokenkey": tokenkey,
	"enckey":   enckey,
	"wait":     wait,
	"get":      get,
	"tuf":      tufCmd,
	"tufserve": tufServe,
	"tufcache": tufCache,

	"trustedroot":   trustedRootCmd,
	"signingconfig": signingConfigCmd,
}

func main() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: tbctl COMMAND [flags]; commands: %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "tbctl %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// ruleList collects repeated --forward flags.
type ruleList []string

func (r *ruleList) String() string     { return strings.Join(*r, " ") }
func (r *ruleList) Set(s string) error { *r = append(*r, s); return nil }
