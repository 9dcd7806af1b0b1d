package alerts

import "fmt"

// health returns the reckon-health group: reckon's own health.
func (g *generator) health() RuleGroup {
	o := g.opts
	up := fmt.Sprintf("up{job=%s}", quote(o.Job))
	rules := []Rule{
		g.alert("ReckonDown",
			fmt.Sprintf("%s == 0\nor\nabsent(%s)", up, up), "5m", SeverityPage,
			"reckon is down",
			fmt.Sprintf("Prometheus has not been able to scrape reckon (job %s) for 5 minutes, or has no reckon target at all: "+
				"model monitoring is blind until it is back.", o.Job),
			nil),
		g.alert("ReckonNotReady",
			"reckon_ready == 0\nunless\nreckon_assigned_partitions > 0", "10m", SeverityWarning,
			"reckon {{ $labels.instance }} has no partitions",
			"reckon {{ $labels.instance }} has not been ready for 10 minutes and owns no partition: it has not joined the consumer "+
				"group, or the group has more members than the input topics have partitions.",
			nil),
		g.alert("ReckonRestoreSlow",
			"reckon_ready == 0\nand\nreckon_assigned_partitions > 0", "10m", SeverityTicket,
			"reckon {{ $labels.instance }} takes long to restore its state",
			"reckon {{ $labels.instance }} owns partitions but has not been ready for 10 minutes: restoring its state from the "+
				"checkpoint topics takes long. Its partitions are not processed meanwhile.",
			nil),
		g.alert("ReckonConsumerLagGrowing",
			fmt.Sprintf("(sum by (job, topic) (deriv(reckon_consumer_lag_records[10m])) > 0)\nand\n(sum by (job, topic) (reckon_consumer_lag_records) > %s)",
				num(o.LagRecords)),
			"15m", SeverityWarning,
			"reckon falls behind on topic {{ $labels.topic }}",
			fmt.Sprintf("The consumer lag of reckon on topic {{ $labels.topic }} has been growing for 25 minutes and is above %s records: "+
				"it consumes slower than the topic is produced to. Scale the group out (up to the partition count) or look for a slow member.",
				num(o.LagRecords)),
			nil),
		g.alert("ReckonDeadLetters",
			`(sum by (job, topic, reason) (increase(reckon_dead_letter_total[10m])) > 0)
or
(sum by (job, topic, reason) (reckon_dead_letter_total unless reckon_dead_letter_total offset 10m) > 0)`,
			"", SeverityWarning,
			"reckon dead-letters records from {{ $labels.topic }} ({{ $labels.reason }})",
			"Records from topic {{ $labels.topic }} went to the dead-letter topic in the last 10 minutes, reason {{ $labels.reason }}: "+
				"a producer writes events reckon cannot read. The records are kept byte-for-byte in the dead-letter topic, "+
				"with their source in the headers.",
			nil),
	}
	return RuleGroup{Name: "reckon-health", Rules: rules}
}
