// Package telemetry holds what the cache and the provider share to emit
// metrics and traces through smithy-go's metrics and tracing interfaces,
// the ones the SDK's clients accept (sts.Options.MeterProvider and
// TracerProvider), so that whatever adapter a program gives the SDK sees
// awsoidc too. docs/metrics.md lists the instruments.
package telemetry

import (
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// Attribute keys shared by the cache's and the provider's instruments and
// spans. Values are bounded labels: never a token, a credential, an ARN or
// an error message.
const (
	KeyOutcome   = "awsoidc.outcome"    // what came of a refresh or a Retrieve
	KeyErrorType = "error.type"         // the error class (OpenTelemetry's error.type)
	KeyReason    = "awsoidc.reason"     // why stale credentials were served
	KeyResult    = "awsoidc.result"     // the result of a store operation
	KeyAttempt   = "awsoidc.attempt"    // the number of an STS attempt, from 1
	KeyErrorCode = "awsoidc.error.code" // the AWS error code of a failed STS attempt
)

// Meter returns the meter of scope from mp; a nil mp means the no-op
// meter.
func Meter(mp metrics.MeterProvider, scope string) metrics.Meter {
	if mp == nil {
		mp = metrics.NopMeterProvider{}
	}
	return mp.Meter(scope)
}

// Tracer returns the tracer of scope from tp; a nil tp means the no-op
// tracer.
func Tracer(tp tracing.TracerProvider, scope string) tracing.Tracer {
	if tp == nil {
		tp = tracing.NopTracerProvider{}
	}
	return tp.Tracer(scope)
}

// nop is the meter of instruments that could not be created.
var nop = metrics.NopMeter{}

// describe sets an instrument's unit and description.
func describe(unit, desc string) metrics.InstrumentOption {
	return func(o *metrics.InstrumentOptions) {
		o.UnitLabel, o.Description = unit, desc
	}
}

// Counter creates an int64 counter; a meter that refuses it yields a no-op
// one, since metrics must never stop the credentials.
func Counter(m metrics.Meter, name, unit, desc string) metrics.Int64Counter {
	c, err := m.Int64Counter(name, describe(unit, desc))
	if err != nil || c == nil {
		c, _ = nop.Int64Counter(name)
	}
	return c
}

// Histogram creates a float64 histogram, or a no-op one (see [Counter]).
func Histogram(m metrics.Meter, name, unit, desc string) metrics.Float64Histogram {
	h, err := m.Float64Histogram(name, describe(unit, desc))
	if err != nil || h == nil {
		h, _ = nop.Float64Histogram(name)
	}
	return h
}

// IntHistogram creates an int64 histogram, or a no-op one (see [Counter]).
func IntHistogram(m metrics.Meter, name, unit, desc string) metrics.Int64Histogram {
	h, err := m.Int64Histogram(name, describe(unit, desc))
	if err != nil || h == nil {
		h, _ = nop.Int64Histogram(name)
	}
	return h
}

// Gauge registers an asynchronous float64 gauge read by cb, and returns
// the function that unregisters it; a meter that refuses it yields a
// no-op one.
func Gauge(m metrics.Meter, name, unit, desc string, cb metrics.Float64Callback) (stop func()) {
	g, err := m.Float64AsyncGauge(name, cb, describe(unit, desc))
	if err != nil || g == nil {
		return func() {}
	}
	return g.Stop
}

// Attrs returns the option that records a measurement with the attributes
// kv (key, value, key, value, ...); empty values are left out.
func Attrs(kv ...string) metrics.RecordMetricOption {
	return func(o *metrics.RecordMetricOptions) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				o.Properties.Set(kv[i], kv[i+1])
			}
		}
	}
}

// Kind sets a span's kind.
func Kind(k tracing.SpanKind) tracing.SpanOption {
	return func(o *tracing.SpanOptions) { o.Kind = k }
}

// End ends span with the status of err, after setting the error class
// when err is not nil.
func End(span tracing.Span, class string, err error) {
	if err != nil {
		if class != "" {
			span.SetProperty(KeyErrorType, class)
		}
		span.SetStatus(tracing.SpanStatusError)
	} else {
		span.SetStatus(tracing.SpanStatusOK)
	}
	span.End()
}
