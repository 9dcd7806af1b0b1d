// Package consumer is reckon's Kafka side: the consumer-group member, the
// co-partitioning balancer, the partition workers, dead letters, the results
// topic, and the embedded kfake cluster used by `reckon demo`. It is the only
// package that imports a Kafka client.
//
// Concurrency model. The Processor's loop polls a batch of records, hands
// each partition number's records (of both input topics, which are
// co-partitioned) to that partition's worker, and waits for all workers to
// finish. Workers run in parallel, each touching only its own state, with no
// locks and no allocation per event in steady state. Between batches the
// loop alone owns everything: it advances the watermark, harvests closed
// panes, closes windows, produces dead letters and results, commits the
// consumed offsets, and only then applies the batch's counts to the
// Prometheus metrics, so exported counters advance only with committed work.
package consumer
