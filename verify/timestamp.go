package verify

import (
	"fmt"
	"slices"
	"strings"
	"time"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// checkTimestamps establishes the trusted times of the signature: the log's
// integrated time (verified with the log entry) and RFC 3161 timestamps.
func (v *Verifier) checkTimestamps(e sgverify.SignedEntity, logTimes []sgverify.TimestampVerificationResult, s *Signature) ([]time.Time, Check) {
	ch := Check{Name: CheckTimestamp}
	ts, err := v.sg.VerifyObserverTimestamps(e, logTimes)
	if err != nil {
		ch.Reason = fmt.Sprintf("no trusted time for the signature (it needs a verified transparency log entry or a timestamp from a trusted timestamp authority): %s", tidy(err))
		return nil, ch
	}
	times, descs := recordTimes(ts, s)
	ch.Passed = true
	ch.Reason = "signed at " + strings.Join(descs, "; ")
	return times, ch
}

// recordTimes records verified times in the signature's report, and
// returns them and their descriptions.
func recordTimes(ts []sgverify.TimestampVerificationResult, s *Signature) (times []time.Time, descs []string) {
	var sources []string
	for _, t := range ts {
		src := SourceTimestampAuthority
		if t.Type == "Tlog" {
			src = SourceTransparencyLog
		}
		s.Timestamps = append(s.Timestamps, Timestamp{Source: src, URI: t.URI, Time: t.Timestamp.UTC()})
		if !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
		times = append(times, t.Timestamp)
		descs = append(descs, fmt.Sprintf("%s %s at %s", src, t.URI, t.Timestamp.UTC().Format(time.RFC3339)))
	}
	s.TimestampSource = strings.Join(sources, "+")
	return times, descs
}
