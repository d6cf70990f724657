package httpretry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Budget is a request rate a host allows: Requests per Per, of which Burst
// may be sent at once before the rate applies.
type Budget struct {
	Requests int
	Per      time.Duration
	// Burst is how many requests may leave at once; 0 or 1 means one at a
	// time, each an interval after the last.
	Burst int
}

func (b Budget) valid() bool { return b.Requests > 0 && b.Per > 0 }

// PaceShare is the share of a host's stated rate a Pacer sends at: nine
// tenths, so that the timing noise between sigil and the host (a request
// scheduled late, the next on time) does not bring two requests closer
// than the host's limiter allows.
const PaceShare = 0.9

// interval is the time between two requests sent at PaceShare of b.
func (b Budget) interval() time.Duration {
	return time.Duration(float64(b.Per) / (float64(b.Requests) * PaceShare))
}

// slower reports whether b allows fewer requests a second than c.
func (b Budget) slower(c Budget) bool {
	return float64(b.Requests)/float64(b.Per) < float64(c.Requests)/float64(c.Per)
}

// Pacer paces requests host by host, for every goroutine of a run at once:
//
//   - When a host answers 429 (or GitHub's 403 "secondary rate limit"),
//     every request to that host waits until the wait the host asked for
//     has passed, not only the one that was refused: otherwise each
//     goroutine retries on its own, at once, and the host refuses them
//     again.
//   - A host with a Budget is sent no more than PaceShare of it, so that a
//     large run does not reach the host's limit at all. A host that states
//     its limit in a 429 ("retry-after: 10.305464ms, allowed: 2000/minute",
//     as GHCR does) is held to that from then on, when it is lower than
//     the host's budget or the host had none; and after a 429 a budgeted
//     host gets no burst for the rest of the run: one request an interval
//     from the end of the wait.
//
// The zero Pacer paces no host until one answers 429.
type Pacer struct {
	// Budgets are the rates hosts allow, keyed by host as a request's URL
	// names it ("ghcr.io", "127.0.0.1:5000"; letter case ignored).
	Budgets map[string]Budget
	// Now is the clock. The default is time.Now.
	Now func() time.Time

	hosts sync.Map // lower-case host → *hostPace
}

// hostPace is one host's gate and budget.
type hostPace struct {
	mu sync.Mutex
	// until is when requests may leave again after a 429.
	until time.Time
	// budget is the host's rate; the zero Budget is none.
	budget Budget
	// tat is the budget's theoretical arrival time (the generic cell rate
	// algorithm): a request may leave at tat minus the burst's tolerance.
	tat time.Time
	// gen counts holds: a reservation made before a hold is made again.
	gen uint64
}

func (p *Pacer) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pacer) host(name string) *hostPace {
	name = strings.ToLower(name)
	if h, ok := p.hosts.Load(name); ok {
		return h.(*hostPace)
	}
	h := &hostPace{}
	for k, b := range p.Budgets {
		if strings.EqualFold(k, name) && b.valid() {
			h.budget = b
		}
	}
	v, _ := p.hosts.LoadOrStore(name, h)
	return v.(*hostPace)
}

// wait blocks until a request to host may leave, or ctx ends.
func (p *Pacer) wait(ctx context.Context, host string, sleep func(context.Context, time.Duration) error) error {
	h := p.host(host)
	for {
		at, gen := h.reserve(p.now())
		for {
			d := at.Sub(p.now())
			if d <= 0 {
				break
			}
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		h.mu.Lock()
		same := h.gen == gen
		h.mu.Unlock()
		if same {
			return nil
		}
		// The host refused a request while this one waited: its place
		// in the queue was reserved before the wait and the new pace.
	}
}

// reserve returns when the next request may leave, and takes its place.
func (h *hostPace) reserve(now time.Time) (time.Time, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := now
	if h.until.After(at) {
		at = h.until
	}
	if h.budget.valid() {
		t := h.budget.interval()
		if earliest := h.tat.Add(-h.tolerance()); earliest.After(at) {
			at = earliest
		}
		if h.tat.Before(at) {
			h.tat = at
		}
		h.tat = h.tat.Add(t)
	}
	return at, h.gen
}

// tolerance is how far ahead of now the budget's tat may run: the burst.
func (h *hostPace) tolerance() time.Duration {
	if h.budget.Burst <= 1 {
		return 0
	}
	return time.Duration(h.budget.Burst-1) * h.budget.interval()
}

// hold makes every request to host wait d from now, and holds the host to
// the rate it stated, if any.
func (p *Pacer) hold(host string, d time.Duration, stated Budget) {
	h := p.host(host)
	now := p.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	if until := now.Add(d); until.After(h.until) {
		h.until = until
	}
	if stated.valid() && (!h.budget.valid() || stated.slower(h.budget)) {
		h.budget = stated
	}
	if h.budget.valid() {
		// The host allows less at once than it was sent: from now on the
		// requests leave one an interval, the first at until. The places
		// taken before are void: their requests take new ones (see wait).
		h.budget.Burst = 1
		h.tat = h.until
	}
}

// maxPeek is the most of an answer's body read to find what it says.
const maxPeek = 4096

// peek reads the start of resp's body, at most maxPeek bytes, and leaves
// the body whole for whoever reads it next.
func peek(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	resp.Body = &peeked{Reader: io.MultiReader(bytes.NewReader(b), resp.Body), Closer: resp.Body}
	return b
}

type peeked struct {
	io.Reader
	io.Closer
}

// GHCR states the wait and its rate in the message of a 429's body, not in
// a Retry-After header: `{"errors":[{"code":"TOOMANYREQUESTS","message":
// "retry-after: 10.305464ms, allowed: 2000/minute"}]}` (chainguard-images/
// images#173 and gardenlinux/gardenlinux#2868 on pushes; on pulls
// "retry-after: 880.092µs, allowed: 44000/minute", dependabot/cli#380 and
// falcosecurity/plugins#1069). The wait is a Go duration.
var (
	bodyRetryAfter = regexp.MustCompile(`(?i)retry-after:\s*([0-9.]+(?:ns|us|µs|μs|ms|s|m|h))`)
	bodyAllowed    = regexp.MustCompile(`(?i)allowed:\s*([0-9]+)\s*/\s*(second|minute|hour)`)
)

// statedLimit reads the wait and the rate a registry states in its error
// body's messages (zero when it states none).
func statedLimit(body []byte) (time.Duration, Budget) {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return 0, Budget{}
	}
	var wait time.Duration
	var b Budget
	for _, m := range e.Errors {
		if s := bodyRetryAfter.FindStringSubmatch(m.Message); s != nil {
			if d, err := time.ParseDuration(s[1]); err == nil && d > 0 {
				wait = d
			}
		}
		if s := bodyAllowed.FindStringSubmatch(m.Message); s != nil {
			n, err := strconv.Atoi(s[1])
			per := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour}[strings.ToLower(s[2])]
			if err == nil && n > 0 {
				b = Budget{Requests: n, Per: per}
			}
		}
	}
	return wait, b
}

// SecondaryWait is how long sigil waits after GitHub's "secondary rate
// limit" before trying again, when the answer does not say: GitHub asks
// for "at least one minute" ("Rate limits for the REST API": exceeding a
// secondary rate limit gets 403 or 429 with a message saying so; with no
// retry-after header, "wait for at least one minute before retrying";
// "continuing to make requests while you are rate limited may result in
// the banning of your integration"). GHCR answers pushes so too
// (markrussinovich/refchecker#67: "GHCR returned HTTP 403 'You have
// exceeded a secondary rate limit'").
const SecondaryWait = time.Minute

// isSecondaryLimit reports whether a 403's body is GitHub's secondary rate
// limit.
func isSecondaryLimit(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit"))
}
