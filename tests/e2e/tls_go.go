// SPDX-License-Identifier: BSD-2-Clause
// The Go end of the Go crypto/tls end-to-end tests: an HTTPS server
// (net/http over crypto/tls) or an HTTPS client, both kept to HTTP/1.1.
//
//	tls_go server PORT CERT KEY
//	tls_go client PORT N MS  after MS milliseconds (the sensor finds new
//	                         processes once a second), GET /go/0 .. /go/N-1
//	                         on one connection, then POST /go/post with a
//	                         3000-byte body; prints "done N"
//	tls_go clients PORT N MS P  the same wait, then P goroutines at once,
//	                         each on its own connection, GET /go/pG/0 ..
//	                         /go/pG/N-1 (G = 0..P-1); prints "done P*N"
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func serve(port, cert, key string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		if r.Method == "POST" {
			fmt.Fprintf(w, "got %d bytes\n", len(body))
			return
		}
		fmt.Fprintf(w, "go %s\n", r.URL.Path)
	})
	s := &http.Server{
		Addr:         "127.0.0.1:" + port,
		Handler:      mux,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	return s.ListenAndServeTLS(cert, key)
}

func client(port string, n int, wait time.Duration) error {
	time.Sleep(wait)
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	c := &http.Client{Transport: tr}
	base := "https://127.0.0.1:" + port
	for i := 0; i < n; i++ {
		r, err := c.Get(base + "/go/" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	r, err := c.Post(base+"/go/post", "text/plain", bytes.NewReader([]byte(strings.Repeat("x", 3000))))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	fmt.Printf("done %d\n", n)
	return nil
}

func clients(port string, n, p int, wait time.Duration) error {
	time.Sleep(wait)
	errs := make(chan error, p)
	for g := 0; g < p; g++ {
		go func(g int) {
			// A transport per goroutine: a connection each.
			tr := &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
				TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
			}
			c := &http.Client{Transport: tr}
			for i := 0; i < n; i++ {
				r, err := c.Get(fmt.Sprintf("https://127.0.0.1:%s/go/p%d/%d", port, g, i))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < p; g++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	fmt.Printf("done %d\n", p*n)
	return nil
}

func main() {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == "server":
		err = serve(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 5 && os.Args[1] == "client":
		n, e1 := strconv.Atoi(os.Args[3])
		ms, e2 := strconv.Atoi(os.Args[4])
		if e1 != nil || e2 != nil {
			err = fmt.Errorf("N and MS are numbers")
		} else {
			err = client(os.Args[2], n, time.Duration(ms)*time.Millisecond)
		}
	case len(os.Args) == 6 && os.Args[1] == "clients":
		n, e1 := strconv.Atoi(os.Args[3])
		ms, e2 := strconv.Atoi(os.Args[4])
		p, e3 := strconv.Atoi(os.Args[5])
		if e1 != nil || e2 != nil || e3 != nil {
			err = fmt.Errorf("N, MS and P are numbers")
		} else {
			err = clients(os.Args[2], n, p, time.Duration(ms)*time.Millisecond)
		}
	default:
		err = fmt.Errorf("usage: tls_go server PORT CERT KEY | tls_go client PORT N MS | " +
			"tls_go clients PORT N MS P")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
