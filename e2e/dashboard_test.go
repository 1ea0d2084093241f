package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/dashboard"
)

// dashboardConfig is a small experiment on all three platforms whose Cloud Functions
// clients take two seconds longer than the OpenWhisk ones and the edge's four, so a
// round's counts change while it runs (and seconds apart, whatever the training
// takes: a client trains its share in a fraction of a second);
// one OpenWhisk activation in five crashes, so there are retries to bill.
const dashboardConfig = `name: dash
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 5
temporal:
  task_queue: dash
  ui_port: -1
metrics:
  listen: 127.0.0.1:0
stop:
  max_rounds: 3
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
      fabric:
        faults:
          crash_rate: 0.2
          seed: 3
  google:
    local:
      api_endpoint: embedded
      fabric:
        faults:
          delay: 2s
  openfaas:
    edge:
      gateway: embedded
      fabric:
        faults:
          delay: 4s
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 6
      num_clients_per_round: 6
      ow_clients_count: 2
      gcf_clients_count: 2
      edge_clients_count: 2
    data_sampling:
      model: mlp
      distribution: iid
    round:
      min_clients_fraction: 1
      max_attempts: 5
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
        google:
          func_path: %[2]s/functions/gcf
        openfaas:
          func_path: %[2]s/functions/openfaas
`

// TestDashboardInABrowser runs a small experiment with the dashboard open in headless
// Chromium: the page lists the experiment, shows the running round's counts changing,
// and once it ends shows rounds.csv's rounds and accuracies and one timeline bar per
// line of clients.csv; requests without the token are refused. With
// FEDKEEPER_SCREENSHOTS=<dir> it leaves its screenshots there (the README's).
func TestDashboardInABrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	browser := newBrowser(ctx, t)
	resolved, c, _ := stackWithWorker(ctx, t, dashboardConfig)
	token, err := bootstrap.MetricsToken(resolved)
	if err != nil {
		t.Fatal(err)
	}
	store, err := bootstrap.ConnectStore(ctx, resolved)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	addr, err := dashboard.New(c, store, resolved, slog.New(slog.NewTextHandler(testWriter{t}, nil))).Serve(ctx, "127.0.0.1:0", token, "the dashboard wants the token")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/"
	checkDashboardRefusals(ctx, t, base, token)

	wait := runInBackground(ctx, c, resolved)
	id := runningExperiment(ctx, t, c, resolved)
	tab := browser.tab(t, token)
	onPage(t, tab, "the experiment's first round", chromedp.Navigate(base+"#/e/"+id), chromedp.WaitVisible(chromedp.CSS("#accuracy-chart")))
	changes := watchRunningRound(tab, t)
	// Round 2 runs at least four seconds (the edge's delay): the page shows it running,
	// with round 1's figures beside it.
	onPage(t, tab, "round 2 running", chromedp.WaitVisible(chromedp.CSS(`#running[data-round="2"] tr[data-platform="openfaas"]`)))
	screenshot(t, tab, "dashboard-running.png")
	outcome := wait(t)
	if changes() < 2 {
		t.Errorf("the running round's counts changed %d times in one round while it ran; want at least 2", changes())
	}

	// Reloaded after the end, the page shows the files' figures.
	onPage(t, tab, "the finished experiment", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#state.completed")), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	type pageState struct {
		Rounds   [][2]string `json:"rounds"`
		Bars     int         `json:"bars"`
		Retry    int         `json:"retry"`
		Bill     string      `json:"bill"`
		Versions []string    `json:"versions"`
	}
	page := evalJS[pageState](t, tab, `({
		rounds: [...document.querySelectorAll("#rounds tbody tr")].map(tr => [tr.dataset.round, tr.querySelector('[data-field="accuracy"]').textContent]),
		bars: document.querySelectorAll("#timeline rect.bar").length,
		retry: document.querySelectorAll('#timeline rect.bar[data-retry="true"]').length,
		bill: document.querySelector("#bill-total").textContent,
		versions: [...document.querySelectorAll("#versions tbody tr")].map(tr => tr.dataset.version + "/" + tr.dataset.sha256),
	})`)
	rounds := readCSV(t, filepath.Join(outcome.ResultsDir, "rounds.csv"))
	var want [][2]string
	for _, row := range rounds[1:] {
		want = append(want, [2]string{row[0], row[slices.Index(rounds[0], "accuracy")]})
	}
	if !slices.Equal(page.Rounds, want) {
		t.Errorf("the page's rounds %v, rounds.csv's %v", page.Rounds, want)
	}
	clients := readCSV(t, filepath.Join(outcome.ResultsDir, "clients.csv"))
	retries := 0
	for _, row := range clients[1:] {
		if row[slices.Index(clients[0], "attempt")] != "1" {
			retries++
		}
	}
	if page.Bars != len(clients)-1 || page.Retry != retries {
		t.Errorf("the timeline has %d bars (%d retries); clients.csv %d activations (%d retries)", page.Bars, page.Retry, len(clients)-1, retries)
	}
	if wantBill := fmt.Sprintf("$%.6f", outcome.Summary.Bill.Total.USD); page.Bill != wantBill {
		t.Errorf("the page's bill %s, summary.json's %s", page.Bill, wantBill)
	}
	var stored []string
	for _, g := range globals(ctx, t, resolved, id) {
		stored = append(stored, fmt.Sprintf("%d/%s", g.Version, g.Checksum))
	}
	if len(stored) != 4 || !slices.Equal(page.Versions, stored) {
		t.Errorf("the page's versions %v, MongoDB's %v", page.Versions, stored)
	}
	screenshot(t, tab, "dashboard-experiment.png")

	onPage(t, tab, "the list", chromedp.Navigate(base+"#/"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-experiment=%q]`, id))))
	if listed := evalJS[int](t, tab, `document.querySelectorAll("#experiments tbody tr").length`); listed != 1 {
		t.Errorf("the list shows %d experiments, want 1", listed)
	}
	screenshot(t, tab, "dashboard-experiments.png")

	// A bookmark that carries the login in its URL works too: the page's own requests
	// must not carry it (fetch refuses such URLs), and the browser sends the login.
	withLogin := fmt.Sprintf("http://researcher:%s@%s/#/", token, addr)
	onPage(t, browser.tab(t, ""), "the list opened with the login in its URL", chromedp.Navigate(withLogin),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-experiment=%q]`, id))))

	// A second run of the config, then both overlaid: one line each, against round
	// and against time.
	second := runInBackground(ctx, c, resolved)(t).Result.Experiment
	compare := fmt.Sprintf("%s#/compare?ids=%s,%s", base, id, second)
	onPage(t, tab, "the comparison", chromedp.Navigate(compare), chromedp.WaitVisible(chromedp.CSS("#compare-time polyline")))
	lines := evalJS[[]string](t, tab, `[...document.querySelectorAll("#compare-rounds polyline, #compare-time polyline")].map(l => l.dataset.series + "/" + l.getAttribute("points").split(" ").length)`)
	want3 := []string{id + "/3", second + "/3", id + "/3", second + "/3"}
	if !slices.Equal(lines, want3) {
		t.Errorf("the comparison draws %v, want %v", lines, want3)
	}
	screenshot(t, tab, "dashboard-compare.png")

	// Reading writes nothing: the store is the same before and after every view of
	// both experiments is read again.
	before := snapshotStore(ctx, t, resolved)
	for page, shown := range map[string]string{"#/": "#experiments", "#/e/" + id: "#versions", "#/e/" + second: "#versions", compare[len(base):]: "#compare-time polyline"} {
		onPage(t, tab, "page "+page, chromedp.Navigate(base+page), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(shown)))
	}
	if after := snapshotStore(ctx, t, resolved); !slices.Equal(before, after) {
		t.Errorf("the dashboard changed the store: %d documents before, %d after", len(before), len(after))
	}
}

// checkDashboardRefusals tries the page, its script and its API without the token,
// with a wrong one and with the token as the user name.
func checkDashboardRefusals(ctx context.Context, t *testing.T, base, token string) {
	t.Helper()
	for _, path := range []string{"", "app.js", "api/experiments", "api/experiments/x"} {
		for _, auth := range []string{"", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:wrong")),
			"Basic " + base64.StdEncoding.EncodeToString([]byte(token+":")), "Bearer wrong"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /%s with %q: %d, want 401", path, auth, resp.StatusCode)
			}
		}
	}
}

// watchRunningRound records every state of the running-round panel the page renders
// and returns how many different counts one round showed, read when called.
func watchRunningRound(tab context.Context, t *testing.T) func() int {
	t.Helper()
	evalJS[bool](t, tab, `window.__seen = []; new MutationObserver(() => {
		const r = document.getElementById("running");
		if (r && r.dataset.round) window.__seen.push(r.dataset.round + "/" + r.dataset.done + "/" + r.dataset.phase + "/" + r.textContent);
	}).observe(document.getElementById("main"), {childList: true, subtree: true}); true`)
	return func() int {
		seen := evalJS[[]string](t, tab, `window.__seen`)
		perRound := map[string]map[string]bool{}
		for _, s := range seen {
			round, _, _ := strings.Cut(s, "/")
			if perRound[round] == nil {
				perRound[round] = map[string]bool{}
			}
			perRound[round][s] = true
		}
		most := 0
		for _, states := range perRound {
			most = max(most, len(states))
		}
		return most
	}
}

// onPage runs steps in the tab, failing the test within two minutes rather than at
// its deadline when the page never shows what they wait for.
func onPage(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// evalJS runs JavaScript in the page and decodes its value.
func evalJS[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// screenshot saves the page whole, checks it is a PNG of some size, and leaves it in
// $FEDKEEPER_SCREENSHOTS when set.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil || img.Bounds().Dx() < 800 || img.Bounds().Dy() < 400 {
		t.Fatalf("screenshot %s: %v, %v", name, err, img)
	}
	if dir := os.Getenv("FEDKEEPER_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// browser is a headless Chromium the test drives.
type browser struct{ ctx context.Context }

// newBrowser starts Debian's chromium (tools/deps.sh installs it); the test fails,
// never skips, without it.
func newBrowser(ctx context.Context, t *testing.T) browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the dashboard's test needs Chromium: install it (Debian: apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	b, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(b); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser{ctx: b}
}

// tab opens a tab that logs in with the token as basic authentication's password
// (with no token, a tab that sends no login of its own).
func (b browser) tab(t *testing.T, token string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if token == "" {
		if err := chromedp.Do(tab); err != nil {
			t.Fatal(err)
		}
		return tab
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("researcher:"+token))
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	return tab
}
