package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

var (
	errNoStart = errors.New("fake: cannot start")
	errBoom    = errors.New("fake: the process exited")
	errDead    = errors.New("fake: the instance is dead")
)

// fakeRuntime starts fakeInstances, which answer "<instance number>:<request>".
type fakeRuntime struct {
	startErr error // every start fails with it
	runErr   error // every run fails with it
	started  chan *fakeInstance

	mu        sync.Mutex
	instances []*fakeInstance
}

func newRuntime() *fakeRuntime { return &fakeRuntime{started: make(chan *fakeInstance, 16)} }

func (rt *fakeRuntime) Start(_ context.Context, spec Spec) (Instance[string, string], error) {
	if rt.startErr != nil {
		return nil, rt.startErr
	}
	rt.mu.Lock()
	inst := &fakeInstance{id: len(rt.instances) + 1, spec: spec, runErr: rt.runErr, killed: make(chan struct{})}
	rt.instances = append(rt.instances, inst)
	rt.mu.Unlock()
	rt.started <- inst
	return inst, nil
}

// runs counts the requests any instance received.
func (rt *fakeRuntime) runs() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := 0
	for _, inst := range rt.instances {
		n += len(inst.received())
	}
	return n
}

type fakeInstance struct {
	id     int
	spec   Spec
	runErr error
	killed chan struct{}
	kill   sync.Once

	mu     sync.Mutex
	runs   []string
	limits []Limit
	ranAt  []time.Time
}

func (i *fakeInstance) Alive() bool {
	select {
	case <-i.killed:
		return false
	default:
		return true
	}
}

func (i *fakeInstance) Kill() { i.kill.Do(func() { close(i.killed) }) }

func (i *fakeInstance) Run(_ context.Context, req string, limit Limit) (string, []string, error) {
	if !i.Alive() {
		return "", []string{"last words"}, errDead
	}
	// Like a process reading its stdin, the instance has the request before anything
	// (a cancelled context, a time limit) can take it back.
	i.mu.Lock()
	i.runs, i.limits, i.ranAt = append(i.runs, req), append(i.limits, limit), append(i.ranAt, time.Now())
	i.mu.Unlock()
	if i.runErr != nil {
		return "", nil, i.runErr
	}
	return fmt.Sprintf("%d:%s", i.id, req), []string{"ran " + req}, nil
}

func (i *fakeInstance) received() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.runs)
}

func newInvoker(t *testing.T, f faults.Faults) *Invoker[string, string] {
	t.Helper()
	inv := New[string, string](Options[string]{MaxInstances: 2, IdleTimeout: time.Hour, Faults: faults.New(f),
		Failed: func() string { return "injected failure" }})
	t.Cleanup(inv.Close)
	return inv
}

func call(rt *fakeRuntime) Call[string, string] {
	return Call[string, string]{Key: Key("f", 1), Runtime: rt, Request: "req", Timeout: time.Minute, Received: time.Now()}
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name      string
		startErr  error
		runErr    error
		fault     faults.Kind
		timeout   time.Duration
		current   bool
		wantErr   error // matched with errors.Is
		wantStart bool  // the error is a *StartError
		wantResp  string
		wantLogs  []string
		wantFault faults.Kind
		wantRuns  int
		wantKept  bool // a second call finds the instance warm
	}{
		{name: "an answer keeps the instance warm", current: true,
			wantResp: "1:req", wantLogs: []string{"ran req"}, wantRuns: 1, wantKept: true},
		{name: "a replaced version is not kept warm", current: false,
			wantResp: "1:req", wantLogs: []string{"ran req"}, wantRuns: 1},
		{name: "a failed run destroys the instance", runErr: errBoom, current: true,
			wantErr: errBoom, wantRuns: 1},
		{name: "a runtime's time limit matches ErrTimeout", runErr: TimeoutError("fake: too slow"), current: true,
			wantErr: ErrTimeout, wantRuns: 1},
		{name: "a failed start", startErr: errNoStart, current: true,
			wantErr: errNoStart, wantStart: true},
		{name: "an injected crash kills the instance before it has the request", fault: faults.Crash, current: true,
			wantErr: errDead, wantLogs: []string{"last words"}, wantFault: faults.Crash},
		{name: "an injected hang ends at the time limit", fault: faults.Hang, timeout: 20 * time.Millisecond, current: true,
			wantErr: ErrTimeout, wantFault: faults.Hang},
		{name: "an injected error answers for the function", fault: faults.Error, current: true,
			wantResp: "injected failure", wantFault: faults.Error, wantKept: true},
		{name: "platform faults are the platform's to answer", fault: faults.Throttle, current: true,
			wantResp: "1:req", wantLogs: []string{"ran req"}, wantRuns: 1, wantKept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := newInvoker(t, faults.Faults{})
			rt := newRuntime()
			rt.startErr, rt.runErr = tc.startErr, tc.runErr
			c := call(rt)
			c.Fault, c.Current = tc.fault, func() bool { return tc.current }
			if tc.timeout > 0 {
				c.Timeout = tc.timeout
			}
			o := inv.Invoke(context.Background(), c)
			if !errors.Is(o.Err, tc.wantErr) || (tc.wantErr == nil) != (o.Err == nil) {
				t.Fatalf("error %v, want %v", o.Err, tc.wantErr)
			}
			var start *StartError
			if errors.As(o.Err, &start) != tc.wantStart {
				t.Errorf("error %v: a StartError? want %v", o.Err, tc.wantStart)
			}
			if o.Response != tc.wantResp || !slices.Equal(o.Logs, tc.wantLogs) || o.Fault != tc.wantFault || !o.Cold {
				t.Errorf("outcome %+v, want response %q logs %q fault %q, cold", o, tc.wantResp, tc.wantLogs, tc.wantFault)
			}
			if tc.fault == faults.Hang && o.Ended.Sub(o.Started) < tc.timeout {
				t.Errorf("the hang lasted %v, its limit is %v", o.Ended.Sub(o.Started), tc.timeout)
			}
			if got := rt.runs(); got != tc.wantRuns {
				t.Errorf("the function ran %d times, want %d", got, tc.wantRuns)
			}
			next := inv.Invoke(context.Background(), call(rt))
			if next.Cold == tc.wantKept {
				t.Errorf("second call cold %v, want the first instance kept %v", next.Cold, tc.wantKept)
			}
		})
	}
}

// The timings say where a call's time went: queueing, the cold start (with its injected
// delay), and the run (with the injected activation delay).
func TestInvokeTimings(t *testing.T) {
	const queued, coldDelay, slow = 50 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond
	inv := newInvoker(t, faults.Faults{ColdStartDelay: coldDelay.String(), Delay: slow.String()})
	rt := newRuntime()
	c := call(rt)
	c.Received = time.Now().Add(-queued)
	o := inv.Invoke(context.Background(), c)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	if o.Received != c.Received || o.Wait() < queued {
		t.Errorf("received %v, wait %v; want the call's and at least %v", o.Received, o.Wait(), queued)
	}
	if !o.Cold || o.Init < coldDelay {
		t.Errorf("cold %v, init %v; want a cold start of at least %v", o.Cold, o.Init, coldDelay)
	}
	inst := <-rt.started
	ranAt, limit := inst.ranAt[0], inst.limits[0]
	if ranAt.Sub(o.Started) < coldDelay+slow || o.Ended.Before(ranAt) {
		t.Errorf("ran %v after its start, ended %v; want after both delays (%v)", ranAt.Sub(o.Started), o.Ended.Sub(o.Started), coldDelay+slow)
	}
	// The deadline counts from when the call got its instance, so the activation delay
	// falls inside it; the run itself still has its whole timeout.
	if limit.Timeout != c.Timeout || limit.Deadline.After(ranAt.Add(c.Timeout-slow)) || limit.Deadline.Before(o.Started.Add(c.Timeout)) {
		t.Errorf("limit %+v for a run at %v with timeout %v", limit, ranAt, c.Timeout)
	}
	// A call without a receipt time counts its wait from Invoke.
	c = call(rt)
	c.Received = time.Time{}
	warm := inv.Invoke(context.Background(), c)
	if warm.Cold || warm.Init != 0 || warm.Response != "1:req" {
		t.Errorf("second call %+v, want the warm instance", warm)
	}
	// (From the zero time it would be centuries.)
	if warm.Received.IsZero() || warm.Wait() < 0 || warm.Wait() > time.Minute {
		t.Errorf("received %v, wait %v", warm.Received, warm.Wait())
	}
}

func TestCallThatCannotGetAnInstance(t *testing.T) {
	inv := newInvoker(t, faults.Faults{})
	rt := newRuntime()
	// Both slots busy: one call waits for a free one until its context ends.
	held := []Instance[string, string]{}
	for range 2 {
		inst, _, err := inv.pool.Acquire(context.Background(), "other@1", func() (Instance[string, string], error) {
			return rt.Start(context.Background(), Spec{})
		})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, inst)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := inv.Invoke(ctx, call(rt))
	var start *StartError
	if !errors.As(o.Err, &start) || !errors.Is(o.Err, context.Canceled) || o.Cold || o.Ended.IsZero() {
		t.Errorf("outcome %+v, want a warm-path StartError of the cancelled context", o)
	}
	for _, inst := range held {
		inv.pool.Release("other@1", inst, false)
	}
}

func TestCloseEndsCallsAndBackgroundWork(t *testing.T) {
	inv := New[string, string](Options[string]{MaxInstances: 1, IdleTimeout: time.Hour})
	rt := newRuntime()
	workEnded := make(chan struct{})
	inv.Go(func(ctx context.Context) {
		<-ctx.Done()
		close(workEnded)
	})
	outcome := make(chan Outcome[string])
	go func() {
		c := call(rt)
		c.Fault, c.Timeout = faults.Hang, time.Hour
		outcome <- inv.Invoke(context.Background(), c)
	}()
	inst := <-rt.started
	inv.Close()
	select {
	case <-workEnded:
	default:
		t.Error("Close returned before the background work ended")
	}
	select {
	case o := <-outcome:
		if !errors.Is(o.Err, context.Canceled) {
			t.Errorf("a hung call at Close: %v", o.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left a hung call hanging")
	}
	if inst.Alive() {
		t.Error("the instance outlived Close")
	}
}

func TestPurge(t *testing.T) {
	keys := []string{Key("f", 1), Key("f", 2), Key("f@x", 3), Key("g", 1)}
	tests := []struct {
		name      string
		purge     func(inv *Invoker[string, string])
		wantAlive []bool // by keys
	}{
		{"every version of a deleted function", func(inv *Invoker[string, string]) { inv.Purge("f") },
			[]bool{false, false, true, true}},
		{"the old versions of an updated one", func(inv *Invoker[string, string]) { inv.PurgeOld("f", 2) },
			[]bool{false, true, true, true}},
		{"a name holding @", func(inv *Invoker[string, string]) { inv.Purge("f@x") },
			[]bool{true, true, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := New[string, string](Options[string]{MaxInstances: len(keys), IdleTimeout: time.Hour})
			t.Cleanup(inv.Close)
			rt := newRuntime()
			byKey := map[string]*fakeInstance{}
			for _, key := range keys {
				c := call(rt)
				c.Key = key
				if o := inv.Invoke(context.Background(), c); o.Err != nil {
					t.Fatal(o.Err)
				}
				byKey[key] = <-rt.started
			}
			tc.purge(inv)
			for i, key := range keys {
				if byKey[key].Alive() != tc.wantAlive[i] {
					t.Errorf("%s alive %v, want %v", key, byKey[key].Alive(), tc.wantAlive[i])
				}
			}
		})
	}
}

func TestReaperDestroysIdleInstances(t *testing.T) {
	inv := New[string, string](Options[string]{MaxInstances: 1, IdleTimeout: time.Millisecond})
	t.Cleanup(inv.Close)
	rt := newRuntime()
	if o := inv.Invoke(context.Background(), call(rt)); o.Err != nil {
		t.Fatal(o.Err)
	}
	inst := <-rt.started
	select {
	case <-inst.killed:
	case <-time.After(10 * time.Second):
		t.Fatal("an idle instance outlived its idle timeout by 10 s")
	}
}

func TestTimeoutError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a runtime's own", TimeoutError("container: time limit exceeded"), true},
		{"wrapped", fmt.Errorf("during start-up: %w", TimeoutError("httpproc: time limit exceeded")), true},
		{"another error", errors.New("container: time limit exceeded"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, ErrTimeout); got != tc.want {
				t.Errorf("errors.Is(%v, ErrTimeout) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if got := TimeoutError("container: time limit exceeded").Error(); got != "container: time limit exceeded" {
		t.Errorf("text %q", got)
	}
}

// An activation delay cut short, by the caller going away or the fabric shutting down,
// ends the call there: the function must not run for nobody afterwards.
func TestCancelledActivationDelayRunsNothing(t *testing.T) {
	tests := []struct {
		name   string
		cancel func(inv *Invoker[string, string], cancelCall context.CancelFunc)
	}{
		{"the caller went away", func(_ *Invoker[string, string], cancelCall context.CancelFunc) { cancelCall() }},
		{"the fabric shut down", func(inv *Invoker[string, string], _ context.CancelFunc) { inv.Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := newInvoker(t, faults.Faults{Delay: "1h"})
			rt := newRuntime()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			outcome := make(chan Outcome[string], 1)
			go func() { outcome <- inv.Invoke(ctx, call(rt)) }()
			// Once the instance is up, the call waits out its hour-long activation delay.
			inst := <-rt.started
			tc.cancel(inv, cancel)
			var o Outcome[string]
			select {
			case o = <-outcome:
			case <-time.After(10 * time.Second):
				t.Fatal("the activation delay outlived its cancellation")
			}
			if runs := inst.received(); len(runs) != 0 {
				t.Errorf("the function ran %q after its activation delay was cancelled", runs)
			}
			if !errors.Is(o.Err, context.Canceled) || o.Response != "" {
				t.Errorf("outcome %+v, want the cancellation and no answer", o)
			}
			if inst.Alive() {
				t.Error("the instance of a cancelled call was kept")
			}
		})
	}
}
