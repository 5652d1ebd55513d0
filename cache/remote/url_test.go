package remote

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Location
	}{
		{"s3://imgraph-cache/team/ci?table=imgraph", Location{Bucket: "imgraph-cache", Prefix: "team/ci", Table: "imgraph", Lease: DefaultLease}},
		{"s3://imgraph-cache?table=imgraph&region=eu-west-1", Location{Bucket: "imgraph-cache", Table: "imgraph", Region: "eu-west-1", Lease: DefaultLease}},
		{"s3://imgraph-cache/ci/?table=Imgraph_Cache.v1&lease=1s", Location{Bucket: "imgraph-cache", Prefix: "ci", Table: "Imgraph_Cache.v1", Lease: time.Second}},
		{"s3://my.bucket-1/?lease=90s&table=abc", Location{Bucket: "my.bucket-1", Table: "abc", Lease: 90 * time.Second}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("ParseURL = %+v, want %+v", *got, tc.want)
			}
			again, err := ParseURL(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("ParseURL(%q) = %+v, %v: String does not read back", got.String(), again, err)
			}
		})
	}
}

func TestParseURLBad(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"s3:///cache?table=t1x", "no bucket"},
		{"s3://?table=t1x", "no bucket"},
		{"s3:bucket?table=t1x", "no bucket"},
		{"s3://imgraph-cache/ci", "no DynamoDB table: add ?table=NAME"},
		{"s3://imgraph-cache/ci?table=", `table name "" must be 3 to 255 characters long`},
		{"s3://imgraph-cache/ci?table=a/b/c", `table name "a/b/c" may hold only letters, digits, _, - and .`},
		{"s3://imgraph-cache/ci?table=abc&table=def", "table= is given 2 times"},
		{"s3://imgraph-cache/ci?table=abc&tabel=def", `unknown parameter "tabel" (known: table, region, lease)`},
		{"s3://imgraph-cache/ci?table=abc&lease=soon", "lease=soon is not a duration of at least 1s, such as 2m"},
		{"s3://imgraph-cache/ci?table=abc&lease=10ms", "lease=10ms is not a duration of at least 1s"},
		{"s3://imgraph-cache/ci?table=abc&region=EU%20West", `region "EU West" is not a region name such as eu-west-1`},
		{"s3://Imgraph-Cache/ci?table=abc", `bucket name "Imgraph-Cache" may hold only lowercase letters, digits, dots and hyphens`},
		{"s3://imgraph-cache:9000/ci?table=abc", `bucket name "imgraph-cache:9000" may hold only lowercase letters`},
		{"s3://ab?table=abc", `bucket name "ab" must be 3 to 63 characters long`},
		{"s3://-abc?table=abc", `bucket name "-abc" must start and end with a letter or digit`},
		{"s3://imgraph-cache/a//b?table=abc", `prefix "a//b" has an empty, . or .. part`},
		{"s3://imgraph-cache/a/../b?table=abc", `prefix "a/../b" has an empty, . or .. part`},
		{"s3://user@imgraph-cache/ci?table=abc", "a cache URL has no user name or #fragment"},
		{"gs://imgraph-cache/ci?table=abc", "not an s3:// URL"},
		{"s3://imgraph-cache/ci?table=abc;x", "invalid semicolon"},
		{"s3://imgraph cache/?table=abc", "invalid character"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			loc, err := ParseURL(tc.url)
			if err == nil {
				t.Fatalf("ParseURL = %+v, want an error", loc)
			}
			var bad *BadInputError
			if !errors.As(err, &bad) || !bad.BadInput() {
				t.Fatalf("error %v is not a *BadInputError", err)
			}
			msg := err.Error()
			want := `cache: cache URL "` + tc.url + `": ` + tc.want
			if !strings.HasPrefix(msg, want) {
				t.Errorf("error:\n%s\nwant it to start with\n%s", msg, want)
			}
			if !strings.Contains(msg, "hint: write it as s3://BUCKET/PREFIX?table=TABLE") || !strings.Contains(msg, exampleURL) {
				t.Errorf("error %q shows no example of a good URL", msg)
			}
			if strings.Count(msg, "\n") != 1 {
				t.Errorf("error %q: want one line and a hint", msg)
			}
		})
	}
}

func TestIsURL(t *testing.T) {
	for s, want := range map[string]bool{"s3://b/p?table=t": true, "/var/cache/imgraph": false, "cache": false, "gs://b": false} {
		if IsURL(s) != want {
			t.Errorf("IsURL(%q) = %v", s, !want)
		}
	}
}
