package telemetry

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// refusing is a meter that refuses every instrument.
type refusing struct{ metrics.NopMeter }

var errRefused = errors.New("refused")

func (refusing) Int64Counter(string, ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return nil, errRefused
}

func (refusing) Int64Histogram(string, ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	return nil, errRefused
}

func (refusing) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return nil, errRefused
}

func (refusing) Float64AsyncGauge(string, metrics.Float64Callback, ...metrics.InstrumentOption) (metrics.AsyncInstrument, error) {
	return nil, errRefused
}

// TestRefusedInstruments checks that a meter that refuses instruments
// yields no-op ones: metrics never stop the credentials.
func TestRefusedInstruments(t *testing.T) {
	ctx := context.Background()
	m := refusing{}
	Counter(m, "c", "{x}", "").Add(ctx, 1)
	Histogram(m, "h", "s", "").Record(ctx, 1)
	IntHistogram(m, "i", "{x}", "").Record(ctx, 1)
	Gauge(m, "g", "s", "", func(context.Context, metrics.Float64Observer) {})()
}

func TestNilProviders(t *testing.T) {
	ctx := context.Background()
	Counter(Meter(nil, "s"), "c", "{x}", "").Add(ctx, 1, Attrs(KeyOutcome, "fetched"))
	_, span := Tracer(nil, "s").StartSpan(ctx, "span", Kind(tracing.SpanKindClient))
	End(span, "transient", errRefused)
}

func TestAttrsSkipEmptyValues(t *testing.T) {
	var o metrics.RecordMetricOptions
	Attrs(KeyOutcome, "failed", KeyErrorType, "", "odd")(&o)
	if got := o.Properties.Values(); len(got) != 1 || got[KeyOutcome] != "failed" {
		t.Errorf("properties = %v, want only %s=failed", got, KeyOutcome)
	}
}
