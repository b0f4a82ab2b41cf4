package insight

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
)

// Settings that only change what is shown keep the backend client; every other setting, and
// any setting added later until it is listed as display-only, builds a new one.
func TestSameBackend(t *testing.T) {
	display := []string{"HoverDeadline", "GrafanaURL", "GrafanaDatasource", "TraceURLTemplate", "CodeLens", "CodeLensFormat", "InlayHints", "HoverImages", "BurnRateThreshold"}
	base := config.Defaults(nil)
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		changed := base
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Float64:
			f.SetFloat(f.Float() + 1)
		case reflect.Int64: // time.Duration
			f.SetInt(f.Int() + int64(time.Second))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{`env="prod"`}))
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"X-Scope-OrgID": "a"}))
		default:
			t.Fatalf("setting %s of kind %v: extend the test", name, f.Kind())
		}
		if got, want := sameBackend(base, changed), slices.Contains(display, name); got != want {
			t.Errorf("%s changed: sameBackend = %v, want %v", name, got, want)
		}
	}
	empty := base
	empty.LabelMatchers, empty.Headers = []string{}, map[string]string{}
	if !sameBackend(base, empty) {
		t.Error("empty label matchers and headers differ from absent ones")
	}
}
