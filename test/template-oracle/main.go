// Oracle for Stapelkit's template engine: renders one JSON case from stdin the way werf does
// (text/template + sprig v3 TxtFuncMap minus expandenv + werf's include/tpl/required/env/fromYaml/toYaml,
// root data .Files/.Env/.Commit). Prints the output, or "\x00ERROR\x00" followed by the error text.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v2"
)

type caseSpec struct {
	Template string            `json:"template"`
	Name     string            `json:"name"`
	Partials map[string]string `json:"partials"`
	Files    map[string]string `json:"files"`
	// Binary files: base64 in JSON (a JSON string cannot carry invalid UTF-8)
	FilesB64 map[string][]byte `json:"filesB64"`
	Env      map[string]string `json:"env"`
	AllowEnv []string          `json:"allowEnv"`
	Loose    bool              `json:"looseEnv"`
	EnvName  string            `json:"envName"`
	Commit   *struct {
		Hash string `json:"hash"`
		Date string `json:"date"`
		// Author's UTC offset; werf reads commit.Author.When from go-git, which is in
		// time.FixedZone("", offset) — so Human prints e.g. "+0100 +0100" (or "+0000 +0000").
		TZOffsetMinutes int `json:"tzOffsetMinutes"`
	} `json:"commit"`
	Data string `json:"data"` // YAML; its top-level keys are added to the root data (test convenience)
}

type files struct{ m map[string]string }

func (f files) Get(p string) string {
	p = path.Clean(p)
	if c, ok := f.m[p]; ok {
		return c
	}
	panic(fmt.Sprintf("{{ .Files.Get %q }}: file %q not found", p, p))
}

func globMatch(pattern, name string) bool {
	ps := strings.Split(pattern, "/")
	ns := strings.Split(name, "/")
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if i == len(ps) {
			return j == len(ns)
		}
		if ps[i] == "**" {
			for k := j; k <= len(ns); k++ {
				if rec(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(ns) {
			return false
		}
		ok, _ := path.Match(ps[i], ns[j])
		return ok && rec(i+1, j+1)
	}
	return rec(0, 0)
}

// Glob panics when nothing matches, as werf v2 does (pkg/config/parser.go doGlob).
func (f files) Glob(pattern string) map[string]interface{} {
	res := map[string]interface{}{}
	for k, v := range f.m {
		if globMatch(pattern, k) {
			res[k] = v
		}
	}
	if len(res) == 0 {
		panic(fmt.Sprintf("{{ .Files.Glob %q }}: no matches found", pattern))
	}
	return res
}

func (f files) Exists(p string) bool {
	p = path.Clean(p)
	if _, ok := f.m[p]; ok {
		return true
	}
	return f.IsDir(p)
}

func (f files) IsDir(p string) bool {
	p = path.Clean(p)
	if p == "." {
		return len(f.m) > 0
	}
	for k := range f.m {
		if strings.HasPrefix(k, p+"/") {
			return true
		}
	}
	return false
}

const giterminismTail = "\n\nTo provide a strong guarantee of reproducibility, werf reads the configuration and build's context files from the project git repository, and eliminates external dependencies. We strongly recommend following this approach, but if necessary, you can allow the reading of specific files directly from the file system and enable the features that require careful use. Read more about giterminism and how to manage it here: https://werf.io/documentation/usage/project_configuration/giterminism.html."

func envAllowed(allow []string, name string) bool {
	for _, a := range allow {
		if len(a) > 1 && strings.HasPrefix(a, "/") && strings.HasSuffix(a, "/") {
			if regexp.MustCompile("^" + a[1:len(a)-1] + "$").MatchString(name) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

func execTemplate(t *template.Template, name string, data interface{}) (string, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func funcMap(t *template.Template, c *caseSpec) template.FuncMap {
	fm := sprig.TxtFuncMap()
	delete(fm, "expandenv")
	fm["fromYaml"] = func(str string) (map[string]interface{}, error) {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(str), &m); err != nil {
			return nil, err
		}
		return m, nil
	}
	fm["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	fm["include"] = func(name string, data interface{}) (string, error) {
		return execTemplate(t, name, data)
	}
	fm["tpl"] = func(content string, data interface{}) (string, error) {
		name := "tpl-" + strconv.FormatUint(uint64(adler32.Checksum([]byte(content))), 10)
		if _, err := t.New(name).Parse(content); err != nil {
			return "", err
		}
		return execTemplate(t, name, data)
	}
	fm["env"] = func(value interface{}, args ...string) (string, error) {
		if len(args) > 1 {
			return "", fmt.Errorf("more than 1 optional argument prohibited")
		}
		name := fmt.Sprint(value)
		if !c.Loose && !envAllowed(c.AllowEnv, name) {
			return "", errors.New("the configuration with potential external dependency found in the werf config: " + fmt.Sprintf("env name '%s' not allowed", name) + giterminismTail)
		}
		var fallback *string
		if len(args) == 1 {
			fallback = &args[0]
		}
		v, found := c.Env[name]
		if !found {
			if fallback != nil {
				return *fallback, nil
			} else if !c.Loose {
				return "", fmt.Errorf("the environment variable %q must be set or default must be provided", name)
			}
			return "", nil
		}
		if v == "" && fallback != nil {
			return *fallback, nil
		}
		return v, nil
	}
	fm["required"] = func(msg string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(msg)
		} else if _, ok := val.(string); ok {
			if val == "" {
				return val, errors.New(msg)
			}
		}
		return val, nil
	}
	return fm
}

func run(c *caseSpec) (string, error) {
	name := c.Name
	if name == "" {
		name = "werfConfig"
	}
	t := template.New(name)
	t.Funcs(funcMap(t, c))
	names := make([]string, 0, len(c.Partials))
	for n := range c.Partials {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := t.New(n).Parse(c.Partials[n]); err != nil {
			return "", err
		}
	}
	if _, err := t.Parse(c.Template); err != nil {
		return "", err
	}
	hash := "0123456789abcdef0123456789abcdef01234567"
	date := time.Date(2024, 3, 5, 14, 7, 9, 0, time.FixedZone("", 0))
	if c.Commit != nil {
		hash = c.Commit.Hash
		d, err := time.Parse(time.RFC3339, c.Commit.Date)
		if err != nil {
			return "", err
		}
		date = d.In(time.FixedZone("", c.Commit.TZOffsetMinutes*60))
	}
	data := map[string]interface{}{}
	if c.Data != "" {
		if err := yaml.Unmarshal([]byte(c.Data), &data); err != nil {
			return "", fmt.Errorf("bad case data: %w", err)
		}
	}
	fm := map[string]string{}
	for k, v := range c.Files {
		fm[k] = v
	}
	for k, v := range c.FilesB64 {
		fm[k] = string(v)
	}
	data["Files"] = files{m: fm}
	data["Env"] = c.EnvName
	data["Commit"] = map[string]interface{}{
		"Hash": hash,
		"Date": map[string]string{
			"Human": date.String(),
			"Unix":  strconv.FormatInt(date.Unix(), 10),
		},
	}
	return execTemplate(t, name, data)
}

type batchResult struct {
	Ok    bool   `json:"ok"`
	Text  string `json:"text,omitempty"`
	// The output's exact bytes (Text is JSON text: invalid UTF-8 in it would become U+FFFD)
	Bytes []byte `json:"bytes,omitempty"`
	Error string `json:"error,omitempty"`
}

// runSafe renders one case; a panic escaping text/template (none should) becomes an error result.
func runSafe(c *caseSpec) (res batchResult) {
	defer func() {
		if r := recover(); r != nil {
			res = batchResult{Ok: false, Error: fmt.Sprintf("oracle panic: %v", r)}
		}
	}()
	out, err := run(c)
	if err != nil {
		return batchResult{Ok: false, Error: err.Error()}
	}
	return batchResult{Ok: true, Text: out, Bytes: []byte(out)}
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	// Batch mode: a JSON array of cases in, a JSON array of results out.
	if trimmed := bytes.TrimSpace(in); len(trimmed) > 0 && trimmed[0] == '[' {
		var cs []caseSpec
		if err := json.Unmarshal(trimmed, &cs); err != nil {
			panic(err)
		}
		results := make([]batchResult, len(cs))
		for i := range cs {
			results[i] = runSafe(&cs[i])
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			panic(err)
		}
		return
	}
	var c caseSpec
	if err := json.Unmarshal(in, &c); err != nil {
		panic(err)
	}
	out, err := run(&c)
	if err != nil {
		os.Stdout.WriteString("\x00ERROR\x00" + err.Error())
		return
	}
	os.Stdout.WriteString(out)
}
