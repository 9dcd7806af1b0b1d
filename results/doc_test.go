package results

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEveryFieldDocumented checks that docs/results.md has a row for every
// JSON field of Record, nested fields as parent.child and map entries as
// parent.*.child, so that a field cannot be added without documenting it.
func TestEveryFieldDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/results.md")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := prefix + name
			paths = append(paths, path)
			ft := f.Type
			if ft.Kind() == reflect.Map {
				ft, path = ft.Elem(), path+".*"
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				walk(path+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[Record]())
	if len(paths) < 30 {
		t.Fatalf("only %d fields found: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/results.md does not document %s", p)
		}
	}
}
