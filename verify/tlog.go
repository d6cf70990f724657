package verify

import (
	"encoding/hex"
	"fmt"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/sigil-dev/sigil/artifact"
)

// checkLog verifies the transparency log entries offline and describes the
// entry in the report.
func (v *Verifier) checkLog(e sgverify.SignedEntity, s *Signature) ([]sgverify.TimestampVerificationResult, Check) {
	ch := Check{Name: CheckTransparencyLog}
	entries, err := e.TlogEntries()
	if err != nil {
		ch.Reason = err.Error()
		return nil, ch
	}
	if len(entries) == 0 {
		ch.Reason = "the signature carries no transparency log entry (it was never logged, or the entry was removed)"
		return nil, ch
	}
	descs := v.logEntries(entries, s)
	times, err := v.sg.VerifyTransparencyLogInclusion(e)
	if err != nil {
		// sigstore-go skips an entry whose signed entry timestamp does not
		// verify, and then reports too few entries: say which did not.
		logs := v.trusted.RekorLogs()
		for _, en := range entries {
			if en.HasInclusionPromise() && !en.IsRekorV2() {
				if serr := tlog.VerifySET(en, logs); serr != nil {
					descs = append(descs, fmt.Sprintf("the signed entry timestamp of entry %d does not verify (%v): the entry was altered, or another log made it", en.LogIndex(), serr))
				}
			}
		}
		ch.Reason = fmt.Sprintf("%s [%s]", tidy(err), strings.Join(descs, "; "))
		return nil, ch
	}
	ch.Passed = true
	ch.Reason = strings.Join(descs, "; ") + ", verified offline"
	return times, ch
}

// describeLog records and describes the log entries of a signature that
// sigstore-go's verification passed (WithBriefPass).
func (v *Verifier) describeLog(e sgverify.SignedEntity, s *Signature) Check {
	entries, err := e.TlogEntries()
	if err != nil {
		return Check{Name: CheckTransparencyLog, Reason: err.Error()}
	}
	descs := v.logEntries(entries, s)
	return Check{Name: CheckTransparencyLog, Passed: true, Reason: strings.Join(descs, "; ") + ", verified offline by sigstore-go's full verification"}
}

// logEntries records the first entry in the signature's report, and
// describes each.
func (v *Verifier) logEntries(entries []*tlog.Entry, s *Signature) []string {
	logs := v.trusted.RekorLogs()
	var descs []string
	for i, en := range entries {
		id := hex.EncodeToString([]byte(en.LogKeyID()))
		le := &artifact.LogEntry{Index: en.LogIndex(), LogID: id, Version: 1}
		if en.IsRekorV2() {
			le.Version = 2
		}
		if t := en.IntegratedTime(); !t.IsZero() && en.TransparencyLogEntry().GetIntegratedTime() != 0 {
			le.IntegratedTime = &t
		}
		tl, known := logs[id]
		if known {
			le.URL = tl.BaseURL
		}
		if i == 0 {
			s.Log = le
		}
		if !known {
			descs = append(descs, fmt.Sprintf("entry %d is in a log the trusted root does not list (log id %s)", le.Index, id))
			continue
		}
		descs = append(descs, describeEntry(en, le))
	}
	return descs
}

func describeEntry(en *tlog.Entry, le *artifact.LogEntry) string {
	var proofs []string
	if en.HasInclusionPromise() {
		proofs = append(proofs, "signed entry timestamp")
	}
	if en.HasInclusionProof() {
		proofs = append(proofs, "inclusion proof with signed checkpoint")
	}
	return fmt.Sprintf("Rekor v%d entry %d at %s with its %s", le.Version, le.Index, le.URL, strings.Join(proofs, " and "))
}
