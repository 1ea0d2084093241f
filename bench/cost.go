package bench

import (
	"fmt"
	"math"
	"time"
)

// MiB is the unit of the platforms' memory settings: Cloud Functions' "256MB" and
// OpenWhisk's memory limit of 256 are 256 × 2^20 bytes.
const MiB = 1 << 20

// MemoryTiers are the memory settings, in MiB, a Cloud Functions (1st gen) function
// can be given, smallest first. OpenWhisk takes any size between its limits (128 to
// 512 MiB by default, a cluster may allow more); the bench uses the same steps for it
// so both platforms' figures compare.
func MemoryTiers() []int { return []int{128, 256, 512, 1024, 2048, 4096, 8192} }

// TierFor is the smallest memory tier, in MiB, that holds a process whose resident
// set peaked at peak bytes: the smallest setting the function runs in without being
// killed for its memory.
func TierFor(peak int64) (int, error) {
	if peak <= 0 {
		return 0, fmt.Errorf("bench: no peak RSS measured (%d bytes)", peak)
	}
	tiers := MemoryTiers()
	for _, mib := range tiers {
		if peak <= int64(mib)*MiB {
			return mib, nil
		}
	}
	return 0, fmt.Errorf("bench: a peak RSS of %.0f MiB needs more than the largest tier, %d MiB", float64(peak)/MiB, tiers[len(tiers)-1])
}

// BillingStep is how finely FaaS platforms bill an invocation's duration: Cloud
// Functions (1st gen) rounds it up to the next 100 ms.
const BillingStep = 100 * time.Millisecond

// Billed is the duration an invocation of d is billed for.
func Billed(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + BillingStep - 1) / BillingStep * BillingStep
}

// GBSeconds is what an invocation of d at a memory setting of mib costs in the unit
// platforms price compute in: the setting in GiB (1 GB-s is 1,024 MiB for a second)
// times the billed duration.
func GBSeconds(mib int, d time.Duration) float64 {
	return float64(mib) / 1024 * Billed(d).Seconds()
}

// ClientCost is what one client function cost in a benchmark experiment: a cold
// client-round (its container's first), its fastest warm one, and its process.
type ClientCost struct {
	// Function is the client function's name (fl_client, pytorch_client).
	Function string
	// Samples and Epochs are the client-round's work: samples × epochs trained.
	Samples, Epochs int
	// Train is the warm round's training as the function timed it (train_seconds);
	// WarmRun is that activation's duration on the platform.
	Train, WarmRun time.Duration
	// ColdStart is from the platform receiving the cold round's invocation to its
	// result; ColdRun is that activation's duration (init included, as OpenWhisk
	// reports it), Init the container's start within it, ColdTrain its training.
	ColdStart, ColdRun, Init, ColdTrain time.Duration
	// Process is the function's process as the OS describes it after the rounds.
	Process ProcStatus
	// CPU is the process's CPU time; Active the sum of its activations' durations.
	CPU, Active time.Duration
}

// SamplesPerSecond is the warm round's training throughput.
func (c ClientCost) SamplesPerSecond() float64 {
	if c.Train <= 0 {
		return 0
	}
	return float64(c.Samples*c.Epochs) / c.Train.Seconds()
}

// Cores is how many cores the process kept busy while it ran: one for a function
// held to one thread of computation.
func (c ClientCost) Cores() float64 {
	if c.Active <= 0 {
		return 0
	}
	return c.CPU.Seconds() / c.Active.Seconds()
}

// peakMiB is the process's peak resident set in MiB.
func (c ClientCost) peakMiB() float64 { return mib(c.Process.PeakRSS) }

func mib(bytes int64) float64 { return float64(bytes) / MiB }

// roundMillis rounds a duration for the notes.
func roundMillis(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// ClientCostResults compares the Go client (FedKeeper's figure) with the PyTorch
// client (the baseline) on one client-round: training time and throughput, cold
// start, peak RSS, and the GB-s of a cold and a warm client-round at the smallest
// memory tier each fits in. The ratio is then Go's cost in PyTorch's: above 1 the Go
// client costs more, below 1 less.
func ClientCostResults(goClient, torch ClientCost) ([]Result, error) {
	goTier, err := TierFor(goClient.Process.PeakRSS)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", goClient.Function, err)
	}
	torchTier, err := TierFor(torch.Process.PeakRSS)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", torch.Function, err)
	}
	base := "the PyTorch client, same rounds"
	work := fmt.Sprintf("%d samples × %d epochs", goClient.Samples, goClient.Epochs)
	vs := "Go client vs PyTorch client"
	tiers := fmt.Sprintf("memory tier derived from the peak RSS (the smallest Cloud Functions setting above it): Go %d MiB, PyTorch %d MiB; "+
		"the local fabric does not enforce memory limits, so the tier is computed, not tried; billed in %v steps, 1 GB-s = 1,024 MiB for 1 s",
		goTier, torchTier, BillingStep)
	results := []Result{
		{Name: vs + ": client-round training time, warm (MLP 784-500-10, " + work + ", batch 10, SGD)", Unit: "s", Lower: true, BaselineName: base,
			Value: goClient.Train.Seconds(), Baseline: torch.Train.Seconds(),
			Note: "FedKeeper's figure is its Go fl_client, the baseline the PyTorch example (examples/pytorch-mlp) in the same experiment, so every ratio of this group is " +
				"the Go client's cost in the PyTorch client's (above 1 Go costs more, below 1 less); train_seconds as each function reports it (its training alone, " +
				"data loading and the store excluded), the faster of the warm rounds; " + threads(goClient, torch)},
		{Name: vs + ": training throughput, warm", Unit: "samples/s", BaselineName: base,
			Value: goClient.SamplesPerSecond(), Baseline: torch.SamplesPerSecond(),
			Note: work + " over the warm round's train_seconds"},
		{Name: vs + ": cold start, invocation to the first result of a new container", Unit: "s", Lower: true, BaselineName: base,
			Value: goClient.ColdStart.Seconds(), Baseline: torch.ColdStart.Seconds(), Note: coldNote(goClient, torch)},
		{Name: vs + ": peak RSS of the function's process", Unit: "MiB", Lower: true, BaselineName: base,
			Value: goClient.peakMiB(), Baseline: torch.peakMiB(), Note: rssNote(goClient, torch)},
		{Name: vs + ": GB-s of a cold client-round at the smallest memory tier", Unit: "GB-s", Lower: true, BaselineName: base,
			Value: GBSeconds(goTier, goClient.ColdRun), Baseline: GBSeconds(torchTier, torch.ColdRun),
			Note: fmt.Sprintf("the cold activation's duration (Go %.3f s, PyTorch %.3f s, initialisation included) × the tier; %s",
				goClient.ColdRun.Seconds(), torch.ColdRun.Seconds(), tiers)},
		{Name: vs + ": GB-s of a warm client-round at the smallest memory tier", Unit: "GB-s", Lower: true, BaselineName: base,
			Value: GBSeconds(goTier, goClient.WarmRun), Baseline: GBSeconds(torchTier, torch.WarmRun),
			Note: fmt.Sprintf("the warm activation's duration (Go %.3f s, PyTorch %.3f s: reading the global model, training, storing the update) × the tier; %s",
				goClient.WarmRun.Seconds(), torch.WarmRun.Seconds(), tiers)},
	}
	return results, nil
}

func threads(goClient, torch ClientCost) string {
	return fmt.Sprintf("one thread of computation each (the fabric gives Go functions GOMAXPROCS=1 and Python ones OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1): "+
		"CPU time over activation time %.2f cores for Go, %.2f for PyTorch; the two train at once in the same rounds, each in a container of its own, "+
		"so on two cores each has one and both meet the same load from anything else on the machine", goClient.Cores(), torch.Cores())
}

func coldNote(goClient, torch ClientCost) string {
	return fmt.Sprintf("the cold round's activation, from the fabric receiving it to its result: Go %.3f s (container start %.3f s, training %.3f s), "+
		"PyTorch %.3f s (container start %.3f s, importing torch and the SDK, training %.3f s); both also load their MNIST share then",
		roundMillis(goClient.ColdStart), roundMillis(goClient.Init), roundMillis(goClient.ColdTrain),
		roundMillis(torch.ColdStart), roundMillis(torch.Init), roundMillis(torch.ColdTrain))
}

func rssNote(goClient, torch ClientCost) string {
	return fmt.Sprintf("VmHWM of each function's process (/proc/<pid>/status of the fabric's child processes, read after the cold and the warm rounds while the containers are still warm); "+
		"resident then: Go %.0f MiB (%.0f MiB of it mapped from files), PyTorch %.0f MiB (%.0f MiB from files: torch's libraries); OS threads: Go %d, PyTorch %d",
		mib(goClient.Process.RSS), mib(goClient.Process.RSSFile), mib(torch.Process.RSS), mib(torch.Process.RSSFile),
		goClient.Process.Threads, torch.Process.Threads)
}
