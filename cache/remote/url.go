package remote

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultLease is how long a claim on a key lasts unless renewed: long
// enough to ride out a slow network, short enough that a killed run holds
// others up for no more than a couple of minutes.
const DefaultLease = 2 * time.Minute

// minLease keeps renewals (every lease/3) from crowding the network.
const minLease = time.Second

// exampleURL is shown in every message about a malformed cache URL.
const exampleURL = "s3://my-team-imgraph/cache?table=imgraph-cache&region=eu-west-1"

// Location is where a remote cache lives: an S3 bucket and prefix for the
// records and logs, a DynamoDB table for the index and the leases.
type Location struct {
	Bucket string
	Prefix string // no leading or trailing slash; "" is the bucket's root
	Table  string
	Region string        // "" means the AWS configuration's
	Lease  time.Duration // how long a claim on a key lasts unless renewed
}

// IsURL reports whether s names a remote cache rather than a directory.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ParseURL reads s3://BUCKET/PREFIX?table=TABLE&region=REGION&lease=DURATION.
func ParseURL(s string) (*Location, error) {
	bad := func(format string, args ...any) error {
		return &BadInputError{
			Msg:  fmt.Sprintf("cache URL %q: ", s) + fmt.Sprintf(format, args...),
			Hint: "write it as s3://BUCKET/PREFIX?table=TABLE (region= and lease= are optional), e.g. " + exampleURL,
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, bad("%v", unwrapURLError(err))
	}
	if u.Scheme != "s3" {
		return nil, bad("not an s3:// URL")
	}
	if u.Opaque != "" {
		return nil, bad("no bucket: the URL must start with s3:// and a bucket name")
	}
	if u.User != nil || u.Fragment != "" || u.RawFragment != "" {
		return nil, bad("a cache URL has no user name or #fragment")
	}
	loc := &Location{Bucket: u.Host, Lease: DefaultLease}
	if loc.Bucket == "" {
		return nil, bad("no bucket")
	}
	if why := checkBucket(loc.Bucket); why != "" {
		return nil, bad("bucket name %q %s", loc.Bucket, why)
	}
	loc.Prefix = strings.Trim(u.Path, "/")
	for _, part := range strings.Split(loc.Prefix, "/") {
		if loc.Prefix != "" && (part == "" || part == "." || part == "..") {
			return nil, bad("prefix %q has an empty, . or .. part", loc.Prefix)
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("%v", err)
	}
	for _, name := range slices.Sorted(maps.Keys(query)) {
		values := query[name]
		if len(values) > 1 {
			return nil, bad("%s= is given %d times", name, len(values))
		}
		value := values[0]
		switch name {
		case "table":
			if why := checkTable(value); why != "" {
				return nil, bad("table name %q %s", value, why)
			}
			loc.Table = value
		case "region":
			if why := checkRegion(value); why != "" {
				return nil, bad("region %q %s", value, why)
			}
			loc.Region = value
		case "lease":
			d, err := time.ParseDuration(value)
			if err != nil || d < minLease {
				return nil, bad("lease=%s is not a duration of at least %v, such as 2m", value, minLease)
			}
			loc.Lease = d
		default:
			return nil, bad("unknown parameter %q (known: table, region, lease)", name)
		}
	}
	if loc.Table == "" {
		return nil, bad("no DynamoDB table: add ?table=NAME")
	}
	return loc, nil
}

// String is the location as a URL that ParseURL reads back.
func (l *Location) String() string {
	q := url.Values{"table": {l.Table}}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	if l.Lease != 0 && l.Lease != DefaultLease {
		q.Set("lease", l.Lease.String())
	}
	u := url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix, RawQuery: q.Encode()}
	if l.Prefix == "" {
		u.Path = ""
	}
	return u.String()
}

// objectKey names an object under the prefix.
func (l *Location) objectKey(parts ...string) string {
	if l.Prefix == "" {
		return strings.Join(parts, "/")
	}
	return l.Prefix + "/" + strings.Join(parts, "/")
}

func (l *Location) recordKey(key string) string { return l.objectKey("records", key+".json") }
func (l *Location) logKey(key string) string    { return l.objectKey("logs", key+".log") }

// s3URL names an object for messages.
func (l *Location) s3URL(objectKey string) string { return "s3://" + l.Bucket + "/" + objectKey }

// checkBucket applies S3's rules for bucket names and says what breaks
// them, or "" when none does.
func checkBucket(b string) string {
	if len(b) < 3 || len(b) > 63 {
		return "must be 3 to 63 characters long"
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return "may hold only lowercase letters, digits, dots and hyphens"
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return "must start and end with a letter or digit"
	}
	if strings.Contains(b, "..") {
		return "must not hold two dots in a row"
	}
	return ""
}

// checkTable applies DynamoDB's rules for table names.
func checkTable(t string) string {
	if len(t) < 3 || len(t) > 255 {
		return "must be 3 to 255 characters long"
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !(isAlnum(c) || 'A' <= c && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return "may hold only letters, digits, _, - and ."
		}
	}
	return ""
}

func checkRegion(r string) string {
	if r == "" {
		return "is empty"
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !(isAlnum(c) || c == '-') {
			return "is not a region name such as eu-west-1"
		}
	}
	return ""
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// unwrapURLError drops url.Error's repetition of the whole URL, which the
// message already shows.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
