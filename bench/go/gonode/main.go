// Command gonode runs one golang/groupcache cluster node, for interop tests
// against the C++ port and for HTTP benchmarks.
//
//	gonode --listen 127.0.0.1:8001 --self http://127.0.0.1:8001 \
//	       --peers http://127.0.0.1:8001,http://127.0.0.1:8002 \
//	       --group bench --cache-bytes 67108864 --loader synthetic:1024:5 \
//	       [--max-idle-conns-per-host 64]
//
// The peer protocol is exactly the original's: groupcache.NewHTTPPoolOpts
// with the default base path "/_groupcache/", 50 replicas and CRC-32
// (crc32.ChecksumIEEE) on the consistent-hash ring; pool.Set(peers...).
// --self must be spelled exactly as it appears in --peers, otherwise the node
// does not recognise itself on the ring and forwards its own keys to itself.
//
// --max-idle-conns-per-host N (N > 0) gives the pool's peer client its own
// http.Transport, cloned from http.DefaultTransport with MaxIdleConnsPerHost
// N and MaxIdleConns at least N per peer: the tuning a Go operator applies,
// because the stock transport keeps only 2 idle connections per host and,
// under concurrency, closes and redials the rest after every request. N = 0
// (the default) leaves HTTPPool.Transport nil, i.e. http.DefaultTransport,
// as the README's setup does.
//
// Endpoints:
//
//	GET /_groupcache/GROUP/KEY  the original HTTPPool handler (protobuf body)
//	GET /get?key=K     group.Get(K) through this node (local cache, peer or
//	                   loader, exactly as a user's Get); 200 with the raw
//	                   value bytes, 404 if the loader reported "not found"
//	                   (see --missing-prefix), 500 on any other error,
//	                   400 if the key parameter is absent. K is decoded by
//	                   standard query rules: '+' means space, use %2B for '+'.
//	GET /stats         JSON counters (see statsJSON)
//	GET /loads         JSON object: key -> number of loader calls on this node
//
// Requests are dispatched by path prefix without http.ServeMux, because
// ServeMux "cleans" the decoded path and answers 301 for keys containing
// "//", "/./", "/../" or equal to "." / "..", which the original's client
// (it uses Transport.RoundTrip, no redirects) reports as a peer error.
// --std-mux restores that behaviour (it is what you get with the README's
// NewHTTPPool + http.ListenAndServe(addr, nil) setup).
//
// Synthetic loader (--loader synthetic:SIZE[:DELAY_MS]); the C++ side
// implements exactly the same function:
//
//	sleep DELAY_MS milliseconds (default 0), then
//	seed     = key + ":"                      (bytes, not runes)
//	value    = SIZE bytes
//	value[i] = seed[i % len(seed)]            for 0 <= i < SIZE
//
// e.g. key "ab", SIZE 7 -> "ab:ab:a"; SIZE 0 -> empty value.
//
// The node exits cleanly (graceful http.Server.Shutdown) on SIGTERM/SIGINT.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang/groupcache"
)

// SyntheticValue is the deterministic loader function shared with the C++
// implementation: value[i] = (key + ":")[i % (len(key)+1)], len(value) = size.
//
// Built by doubling (the value so far is whole periods of the seed, so a
// copy of its prefix continues it), as the C++ side builds it, so that
// neither node's figures carry a division per byte of the loader.
func SyntheticValue(key string, size int) []byte {
	v := make([]byte, size)
	n := copy(v, key+":")
	for n < size {
		n += copy(v[n:], v[:n])
	}
	return v
}

var errNotFound = errors.New("not found")

type loaderSpec struct {
	size  int
	delay time.Duration
}

func parseLoader(s string) (loaderSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "synthetic" {
		return loaderSpec{}, fmt.Errorf("want synthetic:SIZE[:DELAY_MS], got %q", s)
	}
	size, err := strconv.Atoi(parts[1])
	if err != nil || size < 0 {
		return loaderSpec{}, fmt.Errorf("bad SIZE in %q", s)
	}
	spec := loaderSpec{size: size}
	if len(parts) == 3 {
		ms, err := strconv.Atoi(parts[2])
		if err != nil || ms < 0 {
			return loaderSpec{}, fmt.Errorf("bad DELAY_MS in %q", s)
		}
		spec.delay = time.Duration(ms) * time.Millisecond
	}
	return spec, nil
}

type loadCounter struct {
	total  int64 // atomic
	mu     sync.Mutex
	byKey  map[string]int64
	perKey bool
}

func (c *loadCounter) record(key string) {
	atomic.AddInt64(&c.total, 1)
	if !c.perKey {
		return
	}
	c.mu.Lock()
	c.byKey[key]++
	c.mu.Unlock()
}

func (c *loadCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int64, len(c.byKey))
	for k, v := range c.byKey {
		m[k] = v
	}
	return m
}

type cacheStatsJSON struct {
	Bytes     int64 `json:"bytes"`
	Items     int64 `json:"items"`
	Gets      int64 `json:"gets"`
	Hits      int64 `json:"hits"`
	Evictions int64 `json:"evictions"`
}

type statsJSON struct {
	Loads          int64 `json:"loads"` // times this node's getter ran
	Gets           int64 `json:"gets"`
	CacheHits      int64 `json:"cache_hits"`
	PeerLoads      int64 `json:"peer_loads"`
	PeerErrors     int64 `json:"peer_errors"`
	LocalLoads     int64 `json:"local_loads"`
	ServerRequests int64 `json:"server_requests"`
	// Extra counters from groupcache.Stats / CacheStats.
	GroupLoads    int64          `json:"group_loads"` // Stats.Loads: gets - cache hits
	LoadsDeduped  int64          `json:"loads_deduped"`
	LocalLoadErrs int64          `json:"local_load_errs"`
	MainCache     cacheStatsJSON `json:"main_cache"`
	HotCache      cacheStatsJSON `json:"hot_cache"`
}

func toCacheJSON(s groupcache.CacheStats) cacheStatsJSON {
	return cacheStatsJSON{s.Bytes, s.Items, s.Gets, s.Hits, s.Evictions}
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8001", "HOST:PORT to listen on")
	self := flag.String("self", "", "this node's base URL as it appears in --peers (default http://LISTEN)")
	peersFlag := flag.String("peers", "", "comma-separated peer base URLs, including --self (default: just --self)")
	groupName := flag.String("group", "bench", "group name")
	cacheBytes := flag.Int64("cache-bytes", 64<<20, "group cache size in bytes (main + hot)")
	loaderFlag := flag.String("loader", "synthetic:64", "synthetic:SIZE[:DELAY_MS]")
	failPrefix := flag.String("fail-prefix", "", "if non-empty, the loader returns an error for keys with this prefix")
	missingPrefix := flag.String("missing-prefix", "", "if non-empty, the loader returns a not-found error for keys with this prefix (/get answers 404)")
	stdMux := flag.Bool("std-mux", false, "route through http.ServeMux (path cleaning + 301 redirects, like the README setup)")
	maxIdlePerHost := flag.Int("max-idle-conns-per-host", 0, "peer client's idle connections per peer (0: Go's stock http.DefaultTransport, which keeps 2)")
	countKeys := flag.Bool("count-keys", true, "count loads per key for GET /loads (false: totals only, so that a memory measurement sees the cache alone)")
	flag.Parse()

	spec, err := parseLoader(*loaderFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gonode: --loader:", err)
		os.Exit(2)
	}
	if *self == "" {
		*self = "http://" + *listen
	}
	var peers []string
	for _, p := range strings.Split(*peersFlag, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		peers = []string{*self}
	}
	selfListed := false
	for _, p := range peers {
		if p == *self {
			selfListed = true
		}
	}
	if !selfListed {
		fmt.Fprintf(os.Stderr, "gonode: warning: --self %q is not in --peers; keys it owns will be forwarded over HTTP\n", *self)
	}

	loads := &loadCounter{byKey: make(map[string]int64), perKey: *countKeys}
	getter := groupcache.GetterFunc(func(ctx context.Context, key string, dest groupcache.Sink) error {
		loads.record(key)
		if spec.delay > 0 {
			t := time.NewTimer(spec.delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if *failPrefix != "" && strings.HasPrefix(key, *failPrefix) {
			return fmt.Errorf("synthetic loader failure for key %q", key)
		}
		if *missingPrefix != "" && strings.HasPrefix(key, *missingPrefix) {
			return errNotFound
		}
		return dest.SetBytes(SyntheticValue(key, spec.size))
	})

	if *maxIdlePerHost < 0 {
		fmt.Fprintln(os.Stderr, "gonode: --max-idle-conns-per-host must be >= 0")
		os.Exit(2)
	}
	pool := groupcache.NewHTTPPoolOpts(*self, &groupcache.HTTPPoolOptions{})
	if n := *maxIdlePerHost; n > 0 {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = n
		if total := n * len(peers); tr.MaxIdleConns < total {
			tr.MaxIdleConns = total
		}
		pool.Transport = func(context.Context) http.RoundTripper { return tr }
	}
	// Set copies pool.Transport into each peer's getter, so it comes last.
	pool.Set(peers...)
	group := groupcache.NewGroup(*groupName, *cacheBytes, getter)

	handleGet := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if _, ok := q["key"]; !ok {
			http.Error(w, "missing key parameter", http.StatusBadRequest)
			return
		}
		var value []byte
		err := group.Get(r.Context(), q.Get("key"), groupcache.AllocatingByteSliceSink(&value))
		switch {
		case errors.Is(err, errNotFound):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(value)
		}
	}
	handleStats := func(w http.ResponseWriter, r *http.Request) {
		s := &group.Stats
		writeJSON(w, statsJSON{
			Loads:          atomic.LoadInt64(&loads.total),
			Gets:           s.Gets.Get(),
			CacheHits:      s.CacheHits.Get(),
			PeerLoads:      s.PeerLoads.Get(),
			PeerErrors:     s.PeerErrors.Get(),
			LocalLoads:     s.LocalLoads.Get(),
			ServerRequests: s.ServerRequests.Get(),
			GroupLoads:     s.Loads.Get(),
			LoadsDeduped:   s.LoadsDeduped.Get(),
			LocalLoadErrs:  s.LocalLoadErrs.Get(),
			MainCache:      toCacheJSON(group.CacheStats(groupcache.MainCache)),
			HotCache:       toCacheJSON(group.CacheStats(groupcache.HotCache)),
		})
	}
	handleLoads := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, loads.snapshot())
	}

	var handler http.Handler
	if *stdMux {
		mux := http.NewServeMux()
		mux.Handle("/_groupcache/", pool)
		mux.HandleFunc("/get", handleGet)
		mux.HandleFunc("/stats", handleStats)
		mux.HandleFunc("/loads", handleLoads)
		handler = mux
	} else {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch p := r.URL.Path; {
			case strings.HasPrefix(p, "/_groupcache/"):
				pool.ServeHTTP(w, r)
			case p == "/get":
				handleGet(w, r)
			case p == "/stats":
				handleStats(w, r)
			case p == "/loads":
				handleLoads(w, r)
			default:
				http.NotFound(w, r)
			}
		})
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gonode:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: handler}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "listening on %s (self %s, group %q, %d peers)\n", ln.Addr(), *self, *groupName, len(peers))

	select {
	case err := <-serveErr:
		fmt.Fprintln(os.Stderr, "gonode: serve:", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	fmt.Fprintln(os.Stderr, "gonode: shut down")
}
