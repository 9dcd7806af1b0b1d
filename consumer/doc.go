// Package consumer is reckon's Kafka side: the consumer-group member, the
// co-partitioning balancer, the partition workers, transactions and
// checkpoints, dead letters, re-keying, the results topic, and the embedded
// kfake cluster used by `reckon demo`. It is the only package that imports a
// Kafka client.
//
// Concurrency model. The Processor's loop polls every buffered fetch, hands
// each partition number's records (of both input topics, which are
// co-partitioned) to that partition's worker, and waits for all workers to
// finish. Workers run in parallel, each touching only its own state, with no
// locks and no allocation per event in steady state; after its records a
// worker advances its partition's watermark and encodes the panes that
// closed for <group>-partials. Meanwhile the loop merges the partials of the
// partitions it owns (mergers) and closes windows; mergers touch nothing a
// worker does. After the workers the loop produces dead letters, panes and
// results.
//
// Delivery. All of that happens inside a Kafka transaction (franz-go's
// GroupTransactSession) that commits every commit_interval together with the
// input offsets and a checkpoint of every changed worker and merger in
// <group>-state. Counters and gauges move only after a commit; an aborted
// transaction rolls state back to the last checkpoint. Rebalances are allowed
// only between transactions (BlockRebalanceOnPoll), so the state a member
// keeps for a partition it is assigned again is the committed one.
package consumer
