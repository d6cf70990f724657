package sign

import (
	"testing"
	"time"
)

// TestSettleFollowsRecentPushes: the wait before reading a write back is
// three times the longest recent push (or the write's own), bounded; one
// slow push early in a run stops stretching the waits once recentPushes
// pushes have followed it.
func TestSettleFollowsRecentPushes(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name   string
		pushes []time.Duration
		own    time.Duration
		want   time.Duration
	}{
		{"no push yet", nil, ms(20), minSettle},
		{"the write's own", []time.Duration{ms(50)}, ms(200), ms(600)},
		{"the longest recent", []time.Duration{ms(50), ms(400), ms(60)}, ms(50), ms(1200)},
		{"bounded", []time.Duration{5 * time.Second}, ms(50), maxSettle},
		{"a slow push still recent", append([]time.Duration{ms(2000)}, repeat(ms(100), recentPushes-1)...), ms(100), ms(6000)},
		{"a slow push long past", append([]time.Duration{ms(2000)}, repeat(ms(100), recentPushes)...), ms(100), ms(300)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &confirmer{}
			for _, d := range tc.pushes {
				c.record(d)
			}
			if got := c.settle(&write{pushed: tc.own}); got != tc.want {
				t.Errorf("settle = %v, want %v", got, tc.want)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestPushTimeCountsPreparationOnce: a push's time is the union of its own
// and of the preparation begun before it, so the part of the preparation
// the push waited for is not counted twice.
func TestPushTimeCountsPreparationOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name       string
		prep       span
		start, end int
		want       time.Duration
	}{
		{"no preparation", span{}, 0, 100, 100 * time.Millisecond},
		{"preparation over before the push", span{at(-300), at(-100)}, 0, 50, 250 * time.Millisecond},
		{"push waited for the preparation", span{at(-300), at(100)}, 0, 150, 450 * time.Millisecond},
		{"preparation ended as the push began", span{at(-200), at(0)}, 0, 80, 280 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := pushTime(at(tc.start), at(tc.end), tc.prep); got != tc.want {
				t.Errorf("pushTime = %v, want %v", got, tc.want)
			}
		})
	}
}
