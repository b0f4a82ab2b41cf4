package promfixture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// StartVictoriaMetrics starts a single-node VictoriaMetrics on a free port of 127.0.0.1, imports
// the data of opts through /api/v1/import/prometheus (text format, timestamps in ms), flushes it
// with /internal/force_flush and returns once the data can be read. RecordingRules are replayed
// over the data by vmalert (of the same Debian package), writing to the server itself.
// Options.ExtraConfig does not apply. ctx bounds the start only; the server runs until Stop.
func StartVictoriaMetrics(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	opts.applyDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.hasIncident() {
		return nil, errNoIncidentOnVictoria
	}
	bin, err := lookBinary(opts.VictoriaMetrics, "victoria-metrics")
	if err != nil {
		return nil, err
	}
	vmalert := ""
	if len(opts.RecordingRules) > 0 {
		if vmalert, err = lookBinary("", "vmalert"); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	first, last := opts.Span()
	var data bytes.Buffer
	if err := writeData(&data, opts, promText, first, last.Add(time.Nanosecond), true); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "promfixture-vm-*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s := &Server{
			URL: "http://" + addr, Backend: VictoriaMetrics, Now: opts.Now, First: first, Last: last,
			dir: dir, logPath: filepath.Join(dir, fmt.Sprintf("victoria-metrics-%d.log", attempt)),
			user: opts.BasicAuthUser, pass: opts.BasicAuthPassword,
		}
		args := []string{
			"-storageDataPath=" + filepath.Join(dir, "data"),
			"-httpListenAddr=" + addr,
			"-retentionPeriod=100y",
			// The data reaches into the future and is complete: no response cache, no
			// latency offset hiding the newest points.
			"-search.disableCache",
			"-search.latencyOffset=0s",
			"-loggerLevel=WARN",
		}
		if opts.RoutePrefix != "" {
			s.URL += opts.RoutePrefix
			args = append(args, "-http.pathPrefix="+opts.RoutePrefix)
		}
		if s.user != "" {
			args = append(args, "-httpAuth.username="+s.user, "-httpAuth.password="+s.pass)
		}
		args = append(args, opts.Args...)
		if err := s.start(bin, args); err != nil {
			return nil, err
		}
		imported := false
		err = s.waitReady(ctx, "/health", func(ctx context.Context) (bool, error) {
			if len(opts.Functions) == 0 && len(opts.BuildInfo) == 0 && opts.ExtraOpenMetrics == "" {
				return true, nil
			}
			if !imported {
				if err := s.post(ctx, "/api/v1/import/prometheus", data.Bytes()); err != nil {
					return false, err
				}
				imported = true
			}
			if _, _, err := s.get(ctx, "/internal/force_flush"); err != nil {
				return false, err
			}
			if len(opts.Functions) == 0 && len(opts.BuildInfo) == 0 {
				return true, nil
			}
			return s.hasData(ctx)
		})
		if err == nil && len(opts.RecordingRules) > 0 {
			err = s.replayRules(ctx, vmalert, opts)
		}
		if err == nil {
			s.StartupTime = time.Since(began)
			ok = true
			return s, nil
		}
		lastErr = err
		s.kill()
		if !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

// replayRules evaluates the recording rules of opts over the span of the data with vmalert in
// replay mode, which writes the results to the server, and flushes them.
func (s *Server) replayRules(ctx context.Context, vmalert string, opts Options) error {
	rules := filepath.Join(s.dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(RulesYAML(opts.RecordingRules)), 0o644); err != nil {
		return err
	}
	args := []string{
		"-rule=" + rules,
		"-datasource.url=" + s.URL,
		"-remoteWrite.url=" + s.URL,
		"-replay.timeFrom=" + s.First.UTC().Format(time.RFC3339),
		"-replay.timeTo=" + s.Last.UTC().Format(time.RFC3339),
		"-replay.rulesDelay=0s",
		"-replay.disableProgressBar",
		"-evaluationInterval=" + opts.RuleInterval.String(),
		// The step of its range queries; the default 5m would record a point every 5m.
		"-datasource.queryStep=" + opts.RuleInterval.String(),
		"-loggerLevel=ERROR",
	}
	if s.user != "" {
		pw := filepath.Join(s.dir, "vmalert-password")
		if err := os.WriteFile(pw, []byte(s.pass), 0o600); err != nil {
			return err
		}
		args = append(args,
			"-datasource.basicAuth.username="+s.user, "-datasource.basicAuth.passwordFile="+pw,
			"-remoteWrite.basicAuth.username="+s.user, "-remoteWrite.basicAuth.passwordFile="+pw)
	}
	if out, err := exec.CommandContext(ctx, vmalert, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("promfixture: vmalert replay: %v\n%s", err, tail(out))
	}
	_, _, err := s.get(ctx, "/internal/force_flush")
	return err
}

func (s *Server) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("promfixture: POST %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}
