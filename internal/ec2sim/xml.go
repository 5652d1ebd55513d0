package ec2sim

import (
	"bytes"
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// namespace is the EC2 API version the SDK speaks (Version=2016-11-15).
const namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// timeFormat is how EC2 writes times: launchTime, creationDate, startTime.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// itemSet is EC2's list: <fooSet><item>…</item><item>…</item></fooSet>.
// An empty list is still written, as EC2 writes <tagSet/>.
type itemSet[T any] struct {
	Items []T `xml:"item"`
}

func items[T any](xs []T) itemSet[T] { return itemSet[T]{Items: xs} }

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// tagSet writes tags in key order.
func tagSet(tags map[string]string) itemSet[tagXML] {
	out := make([]tagXML, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tagXML{Key: k, Value: tags[k]})
	}
	return items(out)
}

// valueXML is EC2's wrapped scalar: <description><value>…</value></description>.
type valueXML struct {
	Value string `xml:"value"`
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

// returnResponse is the body of actions that answer only true.
type returnResponse struct {
	Return bool `xml:"return"`
}

// emptyResponse is the body of actions that answer nothing but a request id.
type emptyResponse struct{}

// writeXML writes body as the response of action:
// <ActionResponse xmlns="…"><requestId>…</requestId>…fields…</ActionResponse>.
func writeXML(w http.ResponseWriter, action, requestID string, body any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString("<" + action + `Response xmlns="` + namespace + `">`)
	buf.WriteString("<requestId>" + requestID + "</requestId>")
	// The body's fields go inside the response element: encode the body
	// under a throwaway element and keep only what is inside it.
	var inner bytes.Buffer
	if err := xml.NewEncoder(&inner).EncodeElement(body, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		writeXMLError(w, requestID, internalError(err))
		return
	}
	b := inner.Bytes()
	if bytes.HasPrefix(b, []byte("<x>")) && bytes.HasSuffix(b, []byte("</x>")) {
		buf.Write(b[len("<x>") : len(b)-len("</x>")])
	}
	buf.WriteString("</" + action + "Response>")
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// writeXMLError writes an EC2 error body:
// <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>.
func writeXMLError(w http.ResponseWriter, requestID string, e *apiError) {
	type errorXML struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type responseXML struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []errorXML `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}
	body, err := xml.Marshal(responseXML{Errors: []errorXML{{e.Code, e.Message}}, RequestID: requestID})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	w.Write(body)
}
