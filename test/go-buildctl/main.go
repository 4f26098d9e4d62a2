// go-buildctl: `buildctl build` for this machine, which has no buildctl (BuildKit ships no Debian
// package). It is a small main over BuildKit's own Go client library — the client.Solve,
// llb.ReadFrom, filesync and secrets providers that buildctl is built on — from Debian's
// golang-github-docker-docker-dev (BuildKit v0.8, the client of dockerd 20.10), so the tests can
// hand Stapelkit's Definition and frontend image to BuildKit's Go side rather than to our own client.
//
//	go-buildctl build --addr ADDR [--frontend gateway.v0 --opt source=IMG ...] [--local NAME=DIR ...]
//	    [--secret id=ID,src=FILE|env=VAR ...] [--output type=local,dest=DIR | type=moby,name=REF | type=tar,dest=FILE]
//
// Without --frontend the LLB Definition is read from stdin, as buildctl does. ADDR is unix://… or
// tcp://… (a buildkitd), or docker-unix:///path/docker.sock: dockerd's BuildKit through its /grpc
// upgrade, as buildx's docker driver dials it. Progress goes to stderr as `#N name` lines and
// `ERROR` / vertex errors; the exit code is 1 on a failed solve.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// keyValues parses `a=1,b=2`.
func keyValues(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		kv := strings.SplitN(part, "=", 2)
		if len(kv) == 2 {
			out[kv[0]] = kv[1]
		} else {
			out[kv[0]] = ""
		}
	}
	return out
}

// dockerConn upgrades a connection to dockerd's /grpc endpoint (h2c), whose other end is BuildKit's
// gRPC server inside dockerd.
func dockerConn(ctx context.Context, sock string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", "http://docker/grpc", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "h2c")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("dockerd answered %s to the /grpc upgrade", res.Status)
	}
	return &bufferedConn{Conn: conn, r: br}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-buildctl: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "build" {
		fail("usage: go-buildctl build --addr ADDR [flags]")
	}
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	addr := fs.String("addr", os.Getenv("BUILDKIT_HOST"), "daemon address")
	frontend := fs.String("frontend", "", "frontend (gateway.v0, dockerfile.v0); none: the Definition on stdin")
	var opts, locals, secrets, outputs multi
	fs.Var(&opts, "opt", "frontend option key=value")
	fs.Var(&locals, "local", "local source NAME=DIR")
	fs.Var(&secrets, "secret", "secret id=ID,src=FILE | id=ID,env=VAR")
	fs.Var(&outputs, "output", "type=local,dest=DIR | type=tar,dest=FILE | type=moby,name=REF")
	fs.Parse(os.Args[2:])

	ctx := context.Background()
	var c *client.Client
	var err error
	if strings.HasPrefix(*addr, "docker-unix://") {
		sock := strings.TrimPrefix(*addr, "docker-unix://")
		c, err = client.New(ctx, "", client.WithFailFast(), client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return dockerConn(ctx, sock) }))
	} else {
		c, err = client.New(ctx, *addr, client.WithFailFast())
	}
	if err != nil {
		fail("connect %s: %v", *addr, err)
	}

	solveOpt := client.SolveOpt{Frontend: *frontend, FrontendAttrs: map[string]string{}, LocalDirs: map[string]string{}}
	for _, o := range opts {
		kv := strings.SplitN(o, "=", 2)
		if len(kv) != 2 {
			fail("--opt %q: want key=value", o)
		}
		solveOpt.FrontendAttrs[kv[0]] = kv[1]
	}
	for _, l := range locals {
		kv := strings.SplitN(l, "=", 2)
		if len(kv) != 2 {
			fail("--local %q: want NAME=DIR", l)
		}
		solveOpt.LocalDirs[kv[0]] = kv[1]
	}
	if len(secrets) > 0 {
		var srcs []secretsprovider.Source
		for _, s := range secrets {
			kv := keyValues(s)
			srcs = append(srcs, secretsprovider.Source{ID: kv["id"], FilePath: kv["src"], Env: kv["env"]})
		}
		store, err := secretsprovider.NewStore(srcs)
		if err != nil {
			fail("--secret: %v", err)
		}
		solveOpt.Session = []session.Attachable{secretsprovider.NewSecretProvider(store)}
	}
	for _, o := range outputs {
		kv := keyValues(o)
		e := client.ExportEntry{Type: kv["type"], Attrs: map[string]string{}}
		for k, v := range kv {
			if k != "type" && k != "dest" {
				e.Attrs[k] = v
			}
		}
		switch e.Type {
		case client.ExporterLocal:
			e.OutputDir = kv["dest"]
		case client.ExporterTar:
			dest := kv["dest"]
			e.Output = func(map[string]string) (io.WriteCloser, error) { return os.Create(dest) }
		case "moby", client.ExporterImage:
		default:
			fail("--output %q: unknown type", o)
		}
		solveOpt.Exports = append(solveOpt.Exports, e)
	}

	var def *llb.Definition
	if *frontend == "" {
		def, err = llb.ReadFrom(os.Stdin)
		if err != nil {
			fail("reading the Definition from stdin: %v", err)
		}
	}

	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := map[string]int{}
		for st := range ch {
			for _, v := range st.Vertexes {
				n, ok := seen[v.Digest.String()]
				if !ok {
					n = len(seen) + 1
					seen[v.Digest.String()] = n
				}
				switch {
				case v.Error != "":
					fmt.Fprintf(os.Stderr, "#%d %s\n#%d ERROR: %s\n", n, v.Name, n, v.Error)
				case v.Completed != nil && v.Cached:
					fmt.Fprintf(os.Stderr, "#%d %s\n#%d CACHED\n", n, v.Name, n)
				case v.Completed != nil:
					fmt.Fprintf(os.Stderr, "#%d %s\n#%d DONE\n", n, v.Name, n)
				}
			}
			for _, l := range st.Logs {
				fmt.Fprintf(os.Stderr, "#%d %s", seen[l.Vertex.String()], l.Data)
			}
		}
	}()
	res, err := c.Solve(ctx, def, solveOpt, ch)
	<-done
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	for k, v := range res.ExporterResponse {
		fmt.Printf("%s=%s\n", k, v)
	}
}
