package verify

import (
	"sync"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// memoEntity is a signed entity whose transparency log entries and
// verification content are read once. sigstore-go's bundle parses its log
// entries (each Rekor v1 entry's canonicalized body) and its certificate
// anew on every call, and one evaluation asks for them up to eight times:
// a fifth of a re-run's CPU went there.
type memoEntity struct {
	sgverify.SignedEntity

	tlogOnce sync.Once
	entries  []*tlog.Entry
	tlogErr  error

	vcOnce sync.Once
	vc     sgverify.VerificationContent
	vcErr  error
}

// memo wraps e, unless it is wrapped already or nil.
func memo(e sgverify.SignedEntity) sgverify.SignedEntity {
	if e == nil {
		return nil
	}
	if _, ok := e.(*memoEntity); ok {
		return e
	}
	return &memoEntity{SignedEntity: e}
}

// TlogEntries implements sgverify.TlogEntryProvider.
func (m *memoEntity) TlogEntries() ([]*tlog.Entry, error) {
	m.tlogOnce.Do(func() { m.entries, m.tlogErr = m.SignedEntity.TlogEntries() })
	return m.entries, m.tlogErr
}

// HasInclusionPromise implements sgverify.HasInclusionPromise: a bundle
// knows it only once its entries were read.
func (m *memoEntity) HasInclusionPromise() bool {
	_, _ = m.TlogEntries()
	return m.SignedEntity.HasInclusionPromise()
}

// HasInclusionProof implements sgverify.HasInclusionProof.
func (m *memoEntity) HasInclusionProof() bool {
	_, _ = m.TlogEntries()
	return m.SignedEntity.HasInclusionProof()
}

// VerificationContent implements sgverify.VerificationProvider.
func (m *memoEntity) VerificationContent() (sgverify.VerificationContent, error) {
	m.vcOnce.Do(func() { m.vc, m.vcErr = m.SignedEntity.VerificationContent() })
	return m.vc, m.vcErr
}
