// Command warmget benchmarks golang/groupcache's warm-key Group.Get path.
//
// It is the Go reference point for the C++ port's "get_warm" benchmark:
// a single Group with no peers (no PeerPicker is ever registered, so
// groupcache falls back to NoPeers), a GetterFunc loader, every benchmarked
// key loaded once before timing starts, and each timed operation doing what a
// user does:
//
//	var s string
//	err := g.Get(ctx, key, groupcache.StringSink(&s))
//
// Three measurements are made, each printed as one JSON object per line:
//
//	go_get_warm/threads:1          GOMAXPROCS(1), a plain loop on one goroutine
//	go_get_warm/threads:2          GOMAXPROCS(2), 2 goroutines, each its own key
//	go_get_warm_samekey/threads:2  GOMAXPROCS(2), 2 goroutines, the same key
//
// Fields:
//
//	ns_per_op      per-goroutine latency: wall time * goroutines / total ops
//	               (equals Go's own ns/op for threads:1; comparable to the
//	               per-thread "Time" column of Google Benchmark)
//	ops_per_sec    aggregate throughput: total ops / wall time
//	wall_ns_per_op testing.BenchmarkResult.NsPerOp(): wall time / total ops
//	allocs_per_op, bytes_per_op  heap allocations per Get
//	iterations     total ops across all goroutines
//
// Build offline (see bench/go/build.sh):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o warmget ./bench/go/warmget
//
// golang/groupcache keeps groups in a process-global registry (NewGroup
// panics on a duplicate name) and registers its peer picker lazily, so one
// process run performs exactly one measurement set.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/golang/groupcache"
)

type result struct {
	Name           string  `json:"name"`
	NsPerOp        float64 `json:"ns_per_op"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	WallNsPerOp    float64 `json:"wall_ns_per_op"`
	AllocsPerOp    int64   `json:"allocs_per_op"`
	BytesPerOp     int64   `json:"bytes_per_op"`
	Iterations     int     `json:"iterations"`
	Goroutines     int     `json:"goroutines"`
	GoMaxProcs     int     `json:"gomaxprocs"`
	ValueBytes     int     `json:"value_bytes"`
	GoVersion      string  `json:"go_version"`
	Implementation string  `json:"implementation"`
}

// sink keeps the benchmarked result observable so nothing is optimised away.
var sink string

func main() {
	testing.Init()
	benchtime := flag.String("benchtime", "2s", "per-measurement duration or count (as go test -benchtime, e.g. 2s or 100000x)")
	valueSize := flag.Int("value-size", 64, "size in bytes of each cached value")
	mode := flag.String("mode", "all", "which measurements: all, 1 (one goroutine) or 2 (two goroutines, both variants)")
	flag.Parse()
	if *mode != "all" && *mode != "1" && *mode != "2" {
		fmt.Fprintf(os.Stderr, "warmget: -mode must be all, 1 or 2, not %q\n", *mode)
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fmt.Fprintf(os.Stderr, "warmget: bad -benchtime %q: %v\n", *benchtime, err)
		os.Exit(2)
	}
	if *valueSize < 0 {
		fmt.Fprintln(os.Stderr, "warmget: -value-size must be >= 0")
		os.Exit(2)
	}

	var getterCalls int64
	value := make([]byte, *valueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	g := groupcache.NewGroup("warmget", 64<<20, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			atomic.AddInt64(&getterCalls, 1)
			return dest.SetBytes(value)
		}))

	ctx := context.Background()
	keys := []string{"warm-key-0", "warm-key-1"}
	for _, k := range keys {
		var s string
		if err := g.Get(ctx, k, groupcache.StringSink(&s)); err != nil {
			fmt.Fprintf(os.Stderr, "warmget: warming %q: %v\n", k, err)
			os.Exit(1)
		}
	}
	warmLoads := atomic.LoadInt64(&getterCalls)

	get := func(b *testing.B, key string) {
		var s string
		if err := g.Get(ctx, key, groupcache.StringSink(&s)); err != nil {
			b.Fatal(err)
		}
		if len(s) != *valueSize {
			b.Fatalf("got %d bytes, want %d", len(s), *valueSize)
		}
		sink = s
	}

	enc := json.NewEncoder(os.Stdout)
	emit := func(name string, goroutines int, r testing.BenchmarkResult) {
		if r.N == 0 {
			fmt.Fprintf(os.Stderr, "warmget: %s: benchmark failed\n", name)
			os.Exit(1)
		}
		wall := float64(r.T.Nanoseconds())
		enc.Encode(result{
			Name:           name,
			NsPerOp:        wall * float64(goroutines) / float64(r.N),
			OpsPerSec:      float64(r.N) / r.T.Seconds(),
			WallNsPerOp:    wall / float64(r.N),
			AllocsPerOp:    r.AllocsPerOp(),
			BytesPerOp:     r.AllocedBytesPerOp(),
			Iterations:     r.N,
			Goroutines:     goroutines,
			GoMaxProcs:     runtime.GOMAXPROCS(0),
			ValueBytes:     *valueSize,
			GoVersion:      runtime.Version(),
			Implementation: "golang/groupcache",
		})
	}

	// (a) one goroutine, plain loop.
	if *mode != "2" {
		runtime.GOMAXPROCS(1)
		r := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				get(b, keys[0])
			}
		})
		emit("go_get_warm/threads:1", 1, r)
	}
	if *mode == "1" {
		return
	}

	// (b) two goroutines, each reading its own distinct warm key.
	// RunParallel starts SetParallelism(1) * GOMAXPROCS(2) = 2 goroutines.
	runtime.GOMAXPROCS(2)
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(1)
		var next int32 = -1
		b.RunParallel(func(pb *testing.PB) {
			key := keys[int(atomic.AddInt32(&next, 1))%len(keys)]
			for pb.Next() {
				get(b, key)
			}
		})
	})
	emit("go_get_warm/threads:2", 2, r)

	// (c) two goroutines, both reading the same key.
	r = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b, keys[0])
			}
		})
	})
	emit("go_get_warm_samekey/threads:2", 2, r)

	if n := atomic.LoadInt64(&getterCalls); n != warmLoads {
		fmt.Fprintf(os.Stderr, "warmget: getter ran %d times during the benchmark (keys were evicted?)\n", n-warmLoads)
		os.Exit(1)
	}
}
