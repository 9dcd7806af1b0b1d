package consumer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/reckonhq/reckon/config"
	"github.com/reckonhq/reckon/exporter"
)

// Access control. A cluster with an authorizer lets reckon's principal do
// what its ACLs allow and nothing else. Permission lists what reckon needs
// (RequiredAccess; docs/security.md grants exactly that), and the start-up
// check (checkAccess, the first step of prepareTopics) asks the cluster
// whether the principal has it, so that a missing ACL stops reckon before
// it consumes anything, with an *AccessError naming every missing
// permission and its resource, instead of failing a transaction after
// partial work or retrying it forever.

// Permission is one thing reckon's principal must be allowed: Operation on
// the resource of type Resource named Name.
type Permission struct {
	Resource  kmsg.ACLResourceType // topic, group or transactional id
	Name      string               // the resource reckon uses
	Operation kmsg.ACLOperation    // read, write or create
	// Pattern and PatternName are the ACL that grants it: LITERAL Name,
	// or for the transactional id PREFIXED "<group>-", which covers the
	// id of every member of the group (see Processor.transactionalID).
	Pattern     kmsg.ACLResourcePatternType
	PatternName string
	// IfMissing marks Create: needed only while the topic does not exist
	// (reckon then creates it). An admin may create the topics instead.
	IfMissing bool
	// Why says what reckon does with it.
	Why string
}

// String names the permission as kafka-acls.sh does: `Read on topic
// "predictions"`.
func (p Permission) String() string {
	s := fmt.Sprintf("%s on %s %q", operationName(p.Operation), resourceName(p.Resource), p.Name)
	if p.Pattern == kmsg.ACLResourcePatternTypePrefixed {
		s += fmt.Sprintf(" (an ACL on the prefix %q grants it)", p.PatternName)
	}
	return s
}

// operationName is op as kafka-acls.sh's --operation writes it.
func operationName(op kmsg.ACLOperation) string {
	switch op {
	case kmsg.ACLOperationRead:
		return "Read"
	case kmsg.ACLOperationWrite:
		return "Write"
	case kmsg.ACLOperationCreate:
		return "Create"
	case kmsg.ACLOperationDescribe:
		return "Describe"
	case kmsg.ACLOperationDescribeConfigs:
		return "DescribeConfigs"
	}
	return op.String()
}

// resourceName is rt as kafka-acls.sh's resource options name it.
func resourceName(rt kmsg.ACLResourceType) string {
	switch rt {
	case kmsg.ACLResourceTypeTopic:
		return "topic"
	case kmsg.ACLResourceTypeGroup:
		return "group"
	case kmsg.ACLResourceTypeTransactionalId:
		return "transactional id"
	}
	return rt.String()
}

// RequiredAccess lists what a member with configuration cfg must be
// allowed, in the order of docs/security.md: the permissions checked at
// start-up, and the ACLs that grant them.
func RequiredAccess(cfg *config.Config) []Permission {
	return New(cfg, exporter.New(prometheus.NewRegistry(), "", cfg.SeriesLimit)).access()
}

// access is RequiredAccess of p's topics, group and transactional id.
func (p *Processor) access() []Permission {
	k := &p.cfg.Kafka
	var perms []Permission
	topic := func(name string, op kmsg.ACLOperation, why string) {
		perms = append(perms, Permission{Resource: kmsg.ACLResourceTypeTopic, Name: name, Operation: op,
			Pattern: kmsg.ACLResourcePatternTypeLiteral, PatternName: name, Why: why})
	}
	topic(p.topics[predictionsTopic], kmsg.ACLOperationRead, "consume the predictions")
	topic(p.topics[outcomesTopic], kmsg.ACLOperationRead, "consume the outcomes")
	internal := []struct{ name, why string }{
		{p.topics[rekeyTopic], "forward and consume re-keyed records"},
		{p.partialsTopic, "exchange panes and watermarks between members"},
		{p.stateTopic, "checkpoint and restore state"},
		{p.joinTopic, "checkpoint and restore the delayed-label join"},
	}
	for _, t := range internal {
		topic(t.name, kmsg.ACLOperationRead, t.why)
		topic(t.name, kmsg.ACLOperationWrite, t.why)
	}
	topic(k.DeadLetterTopic, kmsg.ACLOperationWrite, "publish dead letters")
	topic(k.ResultsTopic, kmsg.ACLOperationWrite, "publish results")
	// Sizes (topics.go): the dead-letter and re-key topics must take what
	// the inputs take, and every topic reckon writes what it writes.
	for _, t := range []string{p.topics[predictionsTopic], p.topics[outcomesTopic], k.DeadLetterTopic, k.ResultsTopic, p.topics[rekeyTopic], p.partialsTopic, p.stateTopic, p.joinTopic} {
		topic(t, kmsg.ACLOperationDescribeConfigs, "read its max.message.bytes, which bounds the records reckon writes")
	}
	perms = append(perms, Permission{Resource: kmsg.ACLResourceTypeGroup, Name: k.Group, Operation: kmsg.ACLOperationRead,
		Pattern: kmsg.ACLResourcePatternTypeLiteral, PatternName: k.Group,
		Why: "join the consumer group and commit its offsets in transactions"})
	txn := Permission{Resource: kmsg.ACLResourceTypeTransactionalId, Name: p.transactionalID(), Operation: kmsg.ACLOperationWrite,
		Pattern: kmsg.ACLResourcePatternTypePrefixed, PatternName: k.Group + "-",
		Why: "fence a predecessor and commit transactions"}
	if !strings.HasPrefix(txn.Name, txn.PatternName) { // not reckon's naming after all
		txn.Pattern, txn.PatternName = kmsg.ACLResourcePatternTypeLiteral, txn.Name
	}
	perms = append(perms, txn)
	for _, t := range []string{k.DeadLetterTopic, k.ResultsTopic, p.topics[rekeyTopic], p.partialsTopic, p.stateTopic, p.joinTopic} {
		perms = append(perms, Permission{Resource: kmsg.ACLResourceTypeTopic, Name: t, Operation: kmsg.ACLOperationCreate,
			Pattern: kmsg.ACLResourcePatternTypeLiteral, PatternName: t, IfMissing: true,
			Why: "create the topic while it is missing (or have an admin create it)"})
	}
	return perms
}

// ACLCommands returns the kafka-acls.sh commands that grant principal
// ("User:reckon") perms, as Apache Kafka's own tool takes them: one command
// per resource type and set of operations, naming every resource that
// needs the same (kafka-acls.sh adds each operation on each resource), in
// the order of perms; the permissions needed only while a topic is missing
// (IfMissing) in commands of their own. bootstrap and commandConfig are written as
// given, so that they may be shell variables ("$BOOTSTRAP").
func ACLCommands(principal, bootstrap, commandConfig string, perms []Permission) []string {
	type grant struct {
		res       kmsg.ACLResourceType
		pattern   kmsg.ACLResourcePatternType
		name      string
		ifMissing bool // kept apart: an admin may create the topics instead
	}
	var grants []grant
	ops := map[grant][]kmsg.ACLOperation{}
	for _, p := range perms {
		g := grant{p.Resource, p.Pattern, p.PatternName, p.IfMissing}
		if _, ok := ops[g]; !ok {
			grants = append(grants, g)
		}
		ops[g] = append(ops[g], p.Operation)
	}
	type command struct {
		res       kmsg.ACLResourceType
		pattern   kmsg.ACLResourcePatternType
		ops       string
		ifMissing bool
	}
	var order []command
	names := map[command][]string{}
	for _, g := range grants {
		var b strings.Builder
		for _, op := range ops[g] {
			b.WriteString(" --operation " + operationName(op))
		}
		c := command{g.res, g.pattern, b.String(), g.ifMissing}
		if _, ok := names[c]; !ok {
			order = append(order, c)
		}
		names[c] = append(names[c], g.name)
	}
	flag := map[kmsg.ACLResourceType]string{
		kmsg.ACLResourceTypeTopic:           "--topic",
		kmsg.ACLResourceTypeGroup:           "--group",
		kmsg.ACLResourceTypeTransactionalId: "--transactional-id",
	}
	var out []string
	for _, c := range order {
		var b strings.Builder
		fmt.Fprintf(&b, "kafka-acls.sh --bootstrap-server %s --command-config %s --add --allow-principal %s%s",
			bootstrap, commandConfig, shellQuote(principal), c.ops)
		if c.pattern == kmsg.ACLResourcePatternTypePrefixed {
			b.WriteString(" --resource-pattern-type prefixed")
		}
		for _, n := range names[c] {
			fmt.Fprintf(&b, " %s %s", flag[c.res], shellQuote(n))
		}
		out = append(out, b.String())
	}
	return out
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// AccessError says that the principal lacks permissions reckon needs.
// Missing lists every one, in the order of RequiredAccess.
type AccessError struct {
	// Principal says who reckon authenticated as, as configured: a SASL
	// user, a client certificate, or anonymous.
	Principal string
	Missing   []Permission
}

func (e *AccessError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka: %s is not allowed what reckon needs; grant it (docs/security.md lists every ACL reckon needs):", e.Principal)
	for _, p := range e.Missing {
		fmt.Fprintf(&b, "\n  missing %s: to %s", p, p.Why)
	}
	return b.String()
}

// AuthError says that the cluster refused reckon's credentials, or reckon
// the cluster's certificate: something to fix in the configuration or the
// cluster, not to retry. Unwrap returns the cause below the network
// connection (a TLS alert, a certificate verification error, a SASL error),
// never a net.Error: a network error is retried, an AuthError is reported.
type AuthError struct {
	Principal string
	Hint      string // what to check
	Err       error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("kafka: connecting as %s: %v; %s", e.Principal, e.Err, e.Hint)
}

func (e *AuthError) Unwrap() error {
	var op *net.OpError
	if errors.As(e.Err, &op) {
		return op.Err
	}
	return e.Err
}

// authError returns err as an *AuthError when it says that authentication
// failed (SASL, or TLS in either direction), else err.
func authError(err error, who string) error {
	var (
		verify *tls.CertificateVerificationError
		record tls.RecordHeaderError
		op     *net.OpError
	)
	var hint string
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		hint = "check kafka.sasl.username and the password (kafka.sasl.password_file)"
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		hint = "check kafka.sasl.mechanism against the broker listener's sasl.enabled.mechanisms"
	case errors.As(err, &verify):
		hint = "reckon does not trust the broker's certificate: check kafka.tls.ca_file, and that the certificate is valid and names the host in kafka.brokers"
	case errors.As(err, &record):
		hint = "the broker does not speak TLS on this port: use its TLS listener, or remove kafka.tls"
	case errors.As(err, &op) && op.Op == "remote error":
		hint = "the broker refused the TLS handshake: its listener wants a client certificate it trusts (kafka.tls.cert_file and key_file: expired? signed by a CA the broker trusts?)"
	default:
		return err
	}
	return &AuthError{Principal: who, Hint: hint, Err: err}
}

// principal describes who reckon authenticates as, for messages.
func principal(k *config.Kafka) string {
	if s := k.SASL; s != nil {
		return fmt.Sprintf("SASL %s user %q", s.Mechanism, s.Username)
	}
	if t := k.TLS; t != nil && t.CertFile != "" {
		if c, err := t.ClientCertificate(); err == nil && c.Leaf != nil {
			return fmt.Sprintf("client certificate %q", c.Leaf.Subject)
		}
		return fmt.Sprintf("the client certificate of %s", t.CertFile)
	}
	return "an anonymous client (no kafka.sasl, no client certificate)"
}

// checkAccess checks, with cl, that the principal has p.access(); see
// CheckAccess.
func (p *Processor) checkAccess(ctx context.Context, cl *kgo.Client) error {
	return CheckAccess(ctx, cl, principal(&p.cfg.Kafka), p.transactionTimeout(), p.access())
}

// CheckAccess asks the cluster whether the principal of cl (described by
// who, for messages) has every permission of need, and returns an
// *AccessError listing those it lacks, an *AuthError when the cluster
// refuses the credentials, or another error when it cannot tell (a network
// error, say). It touches nothing reckon owns: it reads metadata, creates
// no topic (CreateTopics with validate_only for the missing ones), and for
// the transactional id bumps its epoch, as the fencing that follows does,
// and opens and aborts an empty transaction to learn whether the group may
// commit offsets in it (AddOffsetsToTxn needs Read on the group).
//
// Topic permissions are read from the topics' authorized operations
// (Metadata v8+); a broker that does not report them (older Kafka) leaves
// them unchecked, and the first request that needs one fails instead.
func CheckAccess(ctx context.Context, cl *kgo.Client, who string, txnTimeout time.Duration, need []Permission) error {
	var missing []Permission
	m, err := checkTopics(ctx, cl, need)
	if err != nil {
		return authError(err, who)
	}
	missing = append(missing, m...)
	var txn, group *Permission
	for i := range need {
		switch need[i].Resource {
		case kmsg.ACLResourceTypeTransactionalId:
			txn = &need[i]
		case kmsg.ACLResourceTypeGroup:
			group = &need[i]
		}
	}
	if txn != nil && group != nil {
		txnOK, groupOK, err := checkTransaction(ctx, cl, txn.Name, group.Name, txnTimeout)
		if err != nil {
			return authError(err, who)
		}
		if !groupOK {
			missing = append(missing, *group)
		}
		if !txnOK {
			missing = append(missing, *txn)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// In the order of need.
	lacks := make(map[Permission]bool, len(missing))
	for _, p := range missing {
		lacks[p] = true
	}
	ordered := make([]Permission, 0, len(missing))
	for _, p := range need {
		if lacks[p] {
			ordered = append(ordered, p)
		}
	}
	return &AccessError{Principal: who, Missing: ordered}
}

// checkTopics returns the topic permissions of need that the principal
// lacks.
func checkTopics(ctx context.Context, cl *kgo.Client, need []Permission) ([]Permission, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false // asking must not create
	req.IncludeTopicAuthorizedOperations = true
	seen := map[string]bool{}
	for _, p := range need {
		if p.Resource == kmsg.ACLResourceTypeTopic && !seen[p.Name] {
			seen[p.Name] = true
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(p.Name)
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(req.Topics) == 0 {
		return nil, nil
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	byName := make(map[string]*kmsg.MetadataResponseTopic, len(resp.Topics))
	for i, t := range resp.Topics {
		if t.Topic != nil {
			byName[*t.Topic] = &resp.Topics[i]
		}
	}
	var missing, create, hidden []Permission
	for _, p := range need {
		if p.Resource != kmsg.ACLResourceTypeTopic {
			continue
		}
		t := byName[p.Name]
		if t == nil {
			return nil, fmt.Errorf("reading metadata: no answer for topic %q", p.Name)
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case errors.Is(err, kerr.TopicAuthorizationFailed):
			// Not even Describe (which Read and Write imply): nothing
			// is known of the topic, not even whether it exists.
			// DescribeConfigs does not imply Describe, so it may still
			// be granted: asked below, rather than reported missing
			// beside the permission that is.
			switch {
			case p.Operation == kmsg.ACLOperationDescribeConfigs:
				hidden = append(hidden, p)
			case !p.IfMissing:
				missing = append(missing, p)
			}
		case err == nil || errors.Is(err, kerr.UnknownTopicOrPartition):
			exists := err == nil
			switch {
			case p.IfMissing:
				if !exists {
					create = append(create, p)
				}
			case t.AuthorizedOperations == math.MinInt32:
				// The broker did not say.
			case t.AuthorizedOperations&(1<<p.Operation) == 0:
				// The authorizer answers from the ACLs, whether the
				// topic exists or not: a missing input topic is
				// reported later, as missing.
				missing = append(missing, p)
			}
		default:
			return nil, fmt.Errorf("describing topic %q: %w", p.Name, err)
		}
	}
	if len(hidden) > 0 {
		denied, err := describeConfigsDenied(ctx, cl, hidden)
		if err != nil {
			return nil, err
		}
		missing = append(missing, denied...)
	}
	if len(create) == 0 {
		return missing, nil
	}
	// Create may be granted on the topic or on the cluster; only the
	// authorizer knows, and validate_only asks it without creating.
	creq := kmsg.NewPtrCreateTopicsRequest()
	creq.ValidateOnly = true
	creq.TimeoutMillis = 10000
	for _, p := range create {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = p.Name, -1, -1
		creq.Topics = append(creq.Topics, rt)
	}
	cresp, err := creq.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("asking whether missing topics may be created: %w", err)
	}
	denied := map[string]bool{}
	for _, t := range cresp.Topics {
		err := kerr.ErrorForCode(t.ErrorCode)
		denied[t.Topic] = errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
	}
	for _, p := range create {
		if denied[p.Name] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// describeConfigsDenied asks the broker for the max.message.bytes of the
// topics of need (DescribeConfigs permissions) and returns those it
// refuses: the authorizer answers DescribeConfigs on its own ACL, whether
// the topic is otherwise visible or not.
func describeConfigsDenied(ctx context.Context, cl *kgo.Client, need []Permission) ([]Permission, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, p := range need {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeTopic
		r.ResourceName = p.Name
		r.ConfigNames = []string{"max.message.bytes"}
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describing topic configs: %w", err)
	}
	refused := map[string]bool{}
	for _, r := range resp.Resources {
		if errors.Is(kerr.ErrorForCode(r.ErrorCode), kerr.TopicAuthorizationFailed) {
			refused[r.ResourceName] = true
		}
	}
	var denied []Permission
	for _, p := range need {
		if refused[p.Name] {
			denied = append(denied, p)
		}
	}
	return denied, nil
}

// checkTransaction reports whether the principal may use transactional id
// txnID (Write) and commit group's offsets in a transaction (Read on the
// group). It initializes txnID, as fencing does; with a producer id, it
// adds group's offsets to an empty transaction and aborts it, which is
// exactly the authorization transactions need. Without one (txnID
// refused, or still busy aborting a predecessor's transaction after
// timeout), it falls back to fetching the group's offsets, which needs
// only Describe on the group, implied by Read.
func checkTransaction(ctx context.Context, cl *kgo.Client, txnID, group string, timeout time.Duration) (txnOK, groupOK bool, err error) {
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = &txnID
	init.TransactionTimeoutMillis = int32(timeout.Milliseconds())
	init.ProducerID, init.ProducerEpoch = -1, -1
	deadline := time.Now().Add(timeout)
	var resp *kmsg.InitProducerIDResponse
	for {
		resp, err = init.RequestWith(ctx, cl)
		if err != nil {
			if errors.Is(err, kerr.TransactionalIDAuthorizationFailed) { // finding the coordinator needs Describe
				groupOK, err = groupDescribable(ctx, cl, group)
				return false, groupOK, err
			}
			return false, false, fmt.Errorf("initializing transactional id %q: %w", txnID, err)
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		if err == nil {
			break
		}
		if errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
			groupOK, err = groupDescribable(ctx, cl, group)
			return false, groupOK, err
		}
		// The broker checks authorization first: any other answer means
		// Write is allowed.
		if !errors.Is(err, kerr.ConcurrentTransactions) && !errors.Is(err, kerr.CoordinatorLoadInProgress) && !errors.Is(err, kerr.NotCoordinator) {
			return false, false, fmt.Errorf("initializing transactional id %q: %w", txnID, err)
		}
		if time.Now().After(deadline) {
			groupOK, err = groupDescribable(ctx, cl, group)
			return true, groupOK, err
		}
		select {
		case <-ctx.Done():
			return false, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = txnID, resp.ProducerID, resp.ProducerEpoch, group
	aresp, err := add.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(aresp.ErrorCode)
	}
	switch {
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return true, false, nil
	case err != nil:
		return true, false, fmt.Errorf("adding the offsets of group %q to a transaction: %w", group, err)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = txnID, resp.ProducerID, resp.ProducerEpoch, false
	// Should the abort fail, the fencing that follows aborts the
	// transaction anyway (a new epoch ends the old one's).
	end.RequestWith(ctx, cl)
	return true, true, nil
}

// groupDescribable reports whether the principal may describe group (what
// Read implies): fetching its committed offsets tells.
func groupDescribable(ctx context.Context, cl *kgo.Client, group string) (bool, error) {
	_, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	switch {
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return false, nil
	case err != nil && !errors.Is(err, kerr.GroupIDNotFound):
		return false, fmt.Errorf("fetching the offsets of group %q: %w", group, err)
	}
	return true, nil
}
