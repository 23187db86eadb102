// otelcat from Go through github.com/mattn/go-sqlite3: load the extension on
// every connection, ingest OTLP, query the catalog.
//
//	cd examples/go && go mod tidy && go run . [catalog.db]
//
// Without an argument the catalog lives in memory. It ingests the OTLP
// fixtures of tests/fixtures/otlp as OTLP/JSON (a Go string, bound as TEXT),
// then the same requests as OTLP/protobuf (a []byte, bound as a BLOB, which
// needs its signal), so every count below is 2 per record.
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

func main() {
	ext := flag.String("ext", "../../dist/otelcat", "the otelcat library (SQLite adds .so, .dylib or .dll)")
	fixtures := flag.String("fixtures", "../../tests/fixtures/otlp", "directory of the OTLP fixtures")
	flag.Parse()
	dbPath := ":memory:"
	if flag.NArg() > 0 {
		dbPath = flag.Arg(0)
	}
	// An absolute path: a relative one is resolved against the working
	// directory of whoever opens the next connection.
	extPath, err := filepath.Abs(*ext)
	if err != nil {
		log.Fatal(err)
	}

	// A driver whose every new connection loads otelcat. go-sqlite3 allows
	// loading extensions unless built with the tag sqlite_omit_load_extension.
	sql.Register("sqlite3_otelcat", &sqlite3.SQLiteDriver{
		ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			return conn.LoadExtension(extPath, "sqlite3_otelcat_init")
		},
	})
	// _busy_timeout: wait for other writers instead of failing with "database
	// is locked"; _txlock=immediate: db.Begin() takes the write lock at once.
	db, err := sql.Open("sqlite3_otelcat", dbPath+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// database/sql pools connections, and every connection to ":memory:" is a
	// database of its own: keep one. (With a file, more are fine.)
	db.SetMaxOpenConns(1)

	var version, sqliteVersion string
	if err := db.QueryRow("SELECT otelcat_version(), sqlite_version()").Scan(&version, &sqliteVersion); err != nil {
		log.Fatal(err)
	}
	fmt.Println("otelcat", version, "on SQLite", sqliteVersion)

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(*fixtures, name))
		if err != nil {
			log.Fatal(err)
		}
		return b
	}

	// One transaction for many payloads: the catalog is written at COMMIT.
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"trace.json", "metrics.json", "logs.json", "events.json"} {
		// OTLP/JSON as a string (TEXT): the signal is read from the payload.
		if _, err := tx.Exec("INSERT INTO otlp_ingest(payload) VALUES (?)", string(read(name))); err != nil {
			log.Fatal(err)
		}
	}
	for _, p := range []struct{ name, signal string }{
		{"trace.pb", "traces"}, {"metrics.pb", "metrics"}, {"logs.pb", "logs"}, {"events.pb", "logs"},
	} {
		// OTLP/protobuf as a []byte (BLOB): the signal must be given.
		if _, err := tx.Exec("INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)", read(p.name), p.signal); err != nil {
			log.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	show(db, "Metrics:",
		"SELECT name, type, unit, total_sample_count, estimated_active_series FROM metrics ORDER BY name")
	show(db, "Which services send each span:",
		"SELECT span_name, service_name, sample_count FROM span_services ORDER BY span_name, service_name")
	show(db, "Keys of each span name:",
		"SELECT span_name, key_scope, key_name, key_count, key_percentage, estimated_cardinality, value_samples "+
			"FROM span_keys ORDER BY span_name, key_scope, key_name")
	show(db, "Log body templates:",
		"SELECT severity, service_name, template, count FROM log_body_templates ORDER BY count DESC, template")

	var doc string
	if err := db.QueryRow("SELECT document FROM metric_metadata WHERE name = ?", "my.counter").Scan(&doc); err != nil {
		log.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(doc), "", "  "); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nThe document of metric my.counter:\n%s\n", pretty.String())

	// Sketches are BLOBs: they scan into a []byte and bind back as one.
	var sketch []byte
	var count int64
	if err := db.QueryRow("SELECT hll_sketch FROM span_keys WHERE key_name = 'service.name'").Scan(&sketch); err != nil {
		log.Fatal(err)
	}
	if err := db.QueryRow("SELECT hll_count(?)", sketch).Scan(&count); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nservice.name sketch: %d bytes, hll_count = %d\n", len(sketch), count)

	// A bad payload is an error that writes nothing.
	if _, err := db.Exec("INSERT INTO otlp_ingest(payload) VALUES (?)", read("trace.pb")); err != nil {
		fmt.Println("\nA protobuf payload without its signal:", err)
	}
}

// show prints a query's rows, columns separated by " | ".
func show(db *sql.DB, title, query string, args ...any) {
	rows, err := db.Query(query, args...)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n%s\n  %s\n", title, strings.Join(cols, " | "))
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			log.Fatal(err)
		}
		cells := make([]string, len(values))
		for i, v := range values {
			switch v := v.(type) {
			case nil:
				cells[i] = ""
			case []byte:
				cells[i] = fmt.Sprintf("<%d bytes>", len(v))
			default:
				cells[i] = fmt.Sprint(v)
			}
		}
		fmt.Println("  " + strings.Join(cells, " | "))
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
}
