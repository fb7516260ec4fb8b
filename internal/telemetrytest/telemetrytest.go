// Package telemetrytest records what code emits through smithy-go's
// metrics and tracing interfaces, for tests: a [Recorder] is both a
// metrics.MeterProvider and a tracing.TracerProvider.
package telemetrytest

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// Recorder keeps every measurement and span it is given. It is safe for
// concurrent use. The zero value is ready.
type Recorder struct {
	mu     sync.Mutex // guards the fields below and every span's fields
	points []Point
	spans  []*span
	gauges map[int]gauge
	nextID int
}

var (
	_ metrics.MeterProvider  = (*Recorder)(nil)
	_ tracing.TracerProvider = (*Recorder)(nil)
)

// Point is one measurement.
type Point struct {
	Scope string         // the meter's scope
	Name  string         // the instrument's name
	Kind  string         // "counter", "histogram" or "gauge"
	Unit  string         // the instrument's unit
	Value float64        // the value added, recorded or observed
	Attrs map[string]any // the measurement's attributes
}

// Span is a snapshot of a span.
type Span struct {
	ID, Parent int // Parent is 0 for a root span
	Scope      string
	Name       string
	Kind       tracing.SpanKind
	Status     tracing.SpanStatus
	Props      map[string]any
	Events     []Event
	Ended      bool
}

// Event is an event of a span.
type Event struct {
	Name  string
	Props map[string]any
}

// String describes the point.
func (p Point) String() string {
	return fmt.Sprintf("%s %s=%g %v", p.Kind, p.Name, p.Value, p.Attrs)
}

type gauge struct {
	scope, name, unit string
	cb                metrics.Float64Callback
}

// Meter implements metrics.MeterProvider.
func (r *Recorder) Meter(scope string, _ ...metrics.MeterOption) metrics.Meter {
	return &meter{NopMeter: metrics.NopMeter{}, r: r, scope: scope}
}

// Tracer implements tracing.TracerProvider.
func (r *Recorder) Tracer(scope string, _ ...tracing.TracerOption) tracing.Tracer {
	return tracer{r: r, scope: scope}
}

// Points returns the measurements of the instrument name, in order.
func (r *Recorder) Points(name string) []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Point
	for _, p := range r.points {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// All returns every measurement, in order.
func (r *Recorder) All() []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Point(nil), r.points...)
}

// Sum adds up the values of the instrument name whose attributes include
// kv (key, value, ...).
func (r *Recorder) Sum(name string, kv ...string) float64 {
	var sum float64
	for _, p := range r.Points(name) {
		if match(p.Attrs, kv) {
			sum += p.Value
		}
	}
	return sum
}

// Count counts the measurements of the instrument name whose attributes
// include kv.
func (r *Recorder) Count(name string, kv ...string) int {
	n := 0
	for _, p := range r.Points(name) {
		if match(p.Attrs, kv) {
			n++
		}
	}
	return n
}

func match(attrs map[string]any, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if fmt.Sprint(attrs[kv[i]]) != kv[i+1] {
			return false
		}
	}
	return true
}

// Collect runs the callbacks of the registered asynchronous gauges, as an
// exporter does on each collection, and returns what they observed.
func (r *Recorder) Collect(ctx context.Context) []Point {
	r.mu.Lock()
	ids := make([]int, 0, len(r.gauges))
	for id := range r.gauges {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	gs := make([]gauge, 0, len(ids))
	for _, id := range ids {
		gs = append(gs, r.gauges[id])
	}
	r.mu.Unlock()
	var out []Point
	for _, g := range gs {
		obs := &observer{g: g}
		g.cb(ctx, obs)
		out = append(out, obs.points...)
	}
	r.mu.Lock()
	r.points = append(r.points, out...)
	r.mu.Unlock()
	return out
}

// Gauges returns how many asynchronous gauges are registered.
func (r *Recorder) Gauges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.gauges)
}

// Spans returns snapshots of the spans named name ("" for all), in the
// order they started.
func (r *Recorder) Spans(name string) []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Span
	for _, s := range r.spans {
		if name == "" || s.snap.Name == name {
			c := s.snap
			c.Props = maps.Clone(c.Props)
			c.Events = append([]Event(nil), c.Events...)
			out = append(out, c)
		}
	}
	return out
}

// Dump renders everything recorded: names, attribute keys and values,
// event names. Tests search it for secrets.
func (r *Recorder) Dump() string {
	var b strings.Builder
	for _, p := range r.All() {
		fmt.Fprintf(&b, "%s %s %s %g %#v\n", p.Scope, p.Name, p.Unit, p.Value, p.Attrs)
	}
	for _, s := range r.Spans("") {
		fmt.Fprintf(&b, "span %s %s %#v\n", s.Scope, s.Name, s.Props)
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  event %s %#v\n", e.Name, e.Props)
		}
	}
	return b.String()
}

func (r *Recorder) add(p Point) {
	r.mu.Lock()
	r.points = append(r.points, p)
	r.mu.Unlock()
}

func props(p *smithy.Properties) map[string]any {
	m := map[string]any{}
	for k, v := range p.Values() {
		m[fmt.Sprint(k)] = v
	}
	return m
}

func recordAttrs(opts []metrics.RecordMetricOption) map[string]any {
	var o metrics.RecordMetricOptions
	for _, fn := range opts {
		fn(&o)
	}
	return props(&o.Properties)
}

func unit(opts []metrics.InstrumentOption) string {
	var o metrics.InstrumentOptions
	for _, fn := range opts {
		fn(&o)
	}
	return o.UnitLabel
}

// meter records the synchronous instruments the cache and the provider use
// and the float64 asynchronous gauge; the others are no-ops.
type meter struct {
	metrics.NopMeter
	r     *Recorder
	scope string
}

type instrument struct {
	r                       *Recorder
	scope, name, kind, unit string
}

func (i instrument) rec(v float64, opts []metrics.RecordMetricOption) {
	i.r.add(Point{Scope: i.scope, Name: i.name, Kind: i.kind, Unit: i.unit, Value: v, Attrs: recordAttrs(opts)})
}

type int64Inst struct{ instrument }

func (i int64Inst) Add(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.rec(float64(v), opts)
}

func (i int64Inst) Record(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.rec(float64(v), opts)
}

type float64Inst struct{ instrument }

func (i float64Inst) Record(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	i.rec(v, opts)
}

func (m *meter) inst(name, kind string, opts []metrics.InstrumentOption) instrument {
	return instrument{r: m.r, scope: m.scope, name: name, kind: kind, unit: unit(opts)}
}

func (m *meter) Int64Counter(name string, opts ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return int64Inst{m.inst(name, "counter", opts)}, nil
}

func (m *meter) Int64Histogram(name string, opts ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	return int64Inst{m.inst(name, "histogram", opts)}, nil
}

func (m *meter) Float64Histogram(name string, opts ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return float64Inst{m.inst(name, "histogram", opts)}, nil
}

func (m *meter) Float64AsyncGauge(name string, cb metrics.Float64Callback, opts ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	r := m.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gauges == nil {
		r.gauges = map[int]gauge{}
	}
	r.nextID++
	id := r.nextID
	r.gauges[id] = gauge{scope: m.scope, name: name, unit: unit(opts), cb: cb}
	return stopper(func() {
		r.mu.Lock()
		delete(r.gauges, id)
		r.mu.Unlock()
	}), nil
}

type stopper func()

func (s stopper) Stop() { s() }

type observer struct {
	g      gauge
	points []Point
}

func (o *observer) Observe(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	o.points = append(o.points, Point{Scope: o.g.scope, Name: o.g.name, Kind: "gauge", Unit: o.g.unit, Value: v, Attrs: recordAttrs(opts)})
}

type tracer struct {
	r     *Recorder
	scope string
}

// StartSpan starts a span whose parent is the span of ctx, if it is one of
// this Recorder's, and puts it in the returned ctx.
func (t tracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	r := t.r
	r.mu.Lock()
	r.nextID++
	s := &span{r: r, snap: Span{ID: r.nextID, Scope: t.scope, Name: name, Kind: o.Kind, Props: props(&o.Properties)}}
	if parent, ok := tracing.GetSpan(ctx); ok {
		if ps, ok := parent.(*span); ok && ps.r == r {
			s.snap.Parent = ps.snap.ID
		}
	}
	r.spans = append(r.spans, s)
	r.mu.Unlock()
	return tracing.WithSpan(ctx, s), s
}

type span struct {
	r    *Recorder
	snap Span // guarded by r.mu
}

func (s *span) Name() string {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.snap.Name
}

func (s *span) Context() tracing.SpanContext {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return tracing.SpanContext{TraceID: "t", SpanID: fmt.Sprint(s.snap.ID)}
}

func (s *span) AddEvent(name string, opts ...tracing.EventOption) {
	var o tracing.EventOptions
	for _, fn := range opts {
		fn(&o)
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.snap.Events = append(s.snap.Events, Event{Name: name, Props: props(&o.Properties)})
}

func (s *span) SetStatus(st tracing.SpanStatus) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.snap.Status = st
}

func (s *span) SetProperty(k, v any) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.snap.Props[fmt.Sprint(k)] = v
}

func (s *span) End() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.snap.Ended = true
}
