package promfixture

// SlothShopSpans are spans of service shop in two clusters (a cluster label, as an external
// label or a scrape config adds it), for SlothShopRules read under the extra matcher
// cluster="eu". Write them under CollectorNaming.
var SlothShopSpans = []Span{
	{Service: "shop", Name: "shop.Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.003, 0.04, 0.3, 1.2}, Labels: map[string]string{"cluster": "eu"}},
	{Service: "shop", Name: "shop.Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 10, Latencies: []float64{0.003, 0.04, 0.3, 1.2}, Labels: map[string]string{"cluster": "us"}},
	{Service: "shop", Name: "shop.Reserve", Kind: "SPAN_KIND_INTERNAL", CallsPerSec: 3, Latencies: []float64{0.005}, Labels: map[string]string{"cluster": "eu"}},
	{Service: "shop", Name: "shop.Pay", Kind: "SPAN_KIND_INTERNAL", CallsPerSec: 2, Latencies: []float64{0.005}, Labels: map[string]string{"cluster": "eu"}},
	{Service: "shop", Name: "shop.Ship", Kind: "SPAN_KIND_INTERNAL", CallsPerSec: 1, Latencies: []float64{0.005}, Labels: map[string]string{"cluster": "eu"}},
}

// SlothShopRules are Sloth SLOs of SlothShopSpans (under CollectorNaming) as Sloth writes
// them (SlothSLO): rules evaluated centrally carry no cluster label, rules evaluated per
// cluster carry it.
//
//   - shop.Checkout: "checkout" (99.999 %, a 28-day period) and "checkout-latency" (99.9999 %
//     of calls within 100ms, no slo:time_period:days), no cluster label;
//   - shop.Reserve: in its service only in cluster us, and in service billing;
//   - shop.Pay: per cluster, 99 % in eu and 95 % in us;
//   - shop.Ship: constant rules, exactly at its 99.9 % objective (SLI 0.001).
func SlothShopRules() []Rule {
	calls := func(sel string) string {
		return `sum(rate(traces_span_metrics_calls_total{` + sel + `}[5m]))`
	}
	errs := func(span string) string {
		return `(` + calls(`span_name="`+span+`",status_code="STATUS_CODE_ERROR"`) + ` or vector(0)) / ` + calls(`span_name="`+span+`"`)
	}
	slow := `1 - sum(rate(traces_span_metrics_duration_milliseconds_bucket{span_name="shop.Checkout",le="100"}[5m])) / sum(rate(traces_span_metrics_duration_milliseconds_count{span_name="shop.Checkout"}[5m]))`
	var rs []Rule
	for _, r := range [][]Rule{
		SlothSLO("shop", "checkout", "0.99999", errs("shop.Checkout"), "28", map[string]string{"span_name": "shop.Checkout"}),
		SlothSLO("shop", "checkout-latency", "0.999999", slow, "", map[string]string{"span_name": "shop.Checkout"}),
		SlothSLO("shop", "shop.Reserve", "0.99", errs("shop.Reserve"), "30", map[string]string{"cluster": "us"}),
		SlothSLO("billing", "shop.Reserve", "0.99", errs("shop.Reserve"), "30", nil),
		SlothSLO("shop", "shop.Pay", "0.99", errs("shop.Pay"), "30", map[string]string{"cluster": "eu"}),
		SlothSLO("shop", "shop.Pay", "0.95", errs("shop.Pay"), "30", map[string]string{"cluster": "us"}),
		SlothSLO("shop", "shop.Ship", "0.999", "vector(0.001)", "30", nil),
	} {
		rs = append(rs, r...)
	}
	return rs
}
