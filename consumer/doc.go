// Package consumer is reckon's Kafka runtime: the consumer-group member
// around the event-time core of package windows. It is the only package
// that imports a Kafka client, and holds nothing but Kafka: the group
// session and the co-partitioning balancer, tasks that decode a
// partition's records (dead letters, re-keying) and hand them to the core,
// the partials topic that carries the core's messages between members, the
// state topic that holds the core's changelog, the topics it checks and
// creates, and the embedded kfake cluster used by `reckon demo`.
//
// Concurrency. The Processor's loop polls every buffered fetch, hands each
// partition number's records (of both input topics, which are
// co-partitioned) to that partition's task, and runs the tasks in
// parallel, each touching only its own partition, with no locks and no
// allocation per event in steady state. Meanwhile the loop feeds the
// partials it read to the aggregations it owns. After the tasks it
// produces dead letters, re-keyed records, harvested panes and results.
//
// Delivery. All of that happens inside a Kafka transaction (franz-go's
// GroupTransactSession) that commits every commit_interval together with
// the input offsets, every partition's progress and every state change in
// <group>-state. Every record of the transaction is flushed and checked
// before it commits: a refused record aborts it. Counters and gauges move
// only after a commit; an aborted transaction rolls every partition and
// aggregation back to its committed state. Rebalances are allowed only
// between transactions (BlockRebalanceOnPoll), so the state a member keeps
// for a partition it is assigned again is the committed one.
package consumer
