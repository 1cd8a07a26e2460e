# frozen_string_literal: true

require "fedwall"
require "fedwall/v1/admin_service_services_pb"

class ClientTest < Minitest::Test
  T = FedwallTest

  def client(**opts)
    Fedwall::Client.new(address: T.server.address, deadline: 5, **opts)
  end

  def test_accepts_a_clean_note
    r = client.evaluate(T.activity_text("clean-note"))
    assert_equal :accept, r.verdict
    refute r.failed?
    assert_nil r.error
    assert_empty r.matches
    assert_empty r.effects
    assert_nil r.flag_id
    refute_empty r.policy_version
  end

  def test_rejects_casino_with_rule_and_evidence
    r = client.evaluate(T.activity_text("casino-note"))
    assert_equal :reject, r.verdict
    refute r.failed?
    assert_equal ["casino_ad"], r.rule_ids
    m = r.matches.first
    assert_equal "Casino advertising", m.reason
    refute m.monitor?
    ev = m.evidence.find { |e| e.field == "content" }
    refute_nil ev, "no content evidence in #{m.evidence.inspect}"
    assert_equal "casino", ev.text
    assert_equal ev.start + "casino".bytesize, ev.end
  end

  def test_hash_activity_is_serialised
    assert_equal :reject, client.evaluate(T.activity("casino-note")).verdict
  end

  def test_blocklisted_domain_is_rejected
    r = client.evaluate(T.activity_text("suspended-domain-note"))
    assert_equal :reject, r.verdict
    assert_equal ["blocklist:suspend"], r.matches.map(&:rule_id)
  end

  def test_flag_is_stored_with_its_id
    n = T.next_number
    r = client.evaluate(T.activity_text("free-crypto-note", n), request_id: "req-#{n}")
    assert_equal :flag, r.verdict
    assert_equal ["free_crypto"], r.rule_ids
    refute_nil r.flag_id
    assert_equal "req-#{n}", r.request_id
    flag = T.admin(:get_flag, Fedwall::V1::GetFlagRequest.new(id: r.flag_id))
    assert_equal "https://mastodon.example/users/alice", flag.actor
    assert_includes flag.activity_json, "statuses/#{n}/activity"
    # A redelivery of the same activity gets the same flag.
    assert_equal r.flag_id, client.evaluate(T.activity_text("free-crypto-note", n)).flag_id
  end

  def test_dry_run_stores_nothing
    count = -> { T.admin(:list_flags, Fedwall::V1::ListFlagsRequest.new(page_size: 1000)).flags.size }
    before = count.call
    n = T.next_number
    r = client.evaluate(T.activity_text("giveaway-note", n), dry_run: true)
    assert_equal :flag, r.verdict
    assert_nil r.flag_id
    assert_equal before, count.call
    refute_nil client.evaluate(T.activity_text("giveaway-note", n)).flag_id
    assert_equal before + 1, count.call
  end

  def test_actor_facts_reach_the_rules
    note = T.activity_text("clean-note")
    young = { created_at: Time.now - 86_400, followers_count: 2, following_count: 10, statuses_count: 1 }
    r = client.evaluate(note, actor: young)
    assert_equal :accept, r.verdict
    assert_equal %i[strip_media mark_sensitive unlist], r.effects
    assert_equal ["young_small_account"], r.rule_ids
    fields = r.matches.first.evidence.map(&:field)
    assert_includes fields, "actor.age"
    assert_includes fields, "actor.followers"

    assert_empty client.evaluate(note, actor: young.merge(followers_count: 500)).effects
    assert_empty client.evaluate(note, actor: young.merge(created_at: Time.now - (30 * 86_400))).effects
    # Without facts the rule's condition is unknown: it does not fire.
    assert_empty client.evaluate(note).effects
    # nil means unknown too.
    assert_empty client.evaluate(note, actor: young.merge(followers_count: nil)).effects
  end

  def test_received_at_is_now_for_ages
    note = T.activity_text("clean-note")
    then_ = Time.utc(2020, 1, 10)
    old = { created_at: Time.utc(2020, 1, 9), followers_count: 0 }
    r = client.evaluate(note, actor: old, delivery: { received_at: then_, sender_domain: "mastodon.example" })
    assert_equal ["young_small_account"], r.rule_ids
    assert_empty client.evaluate(note, actor: old).rule_ids
  end

  def test_boolean_facts
    n = T.next_number
    bot = { bot: true, followed_by_local_users: false }
    r = client.evaluate(T.activity_text("clean-note", n), actor: bot, dry_run: true)
    assert_equal :flag, r.verdict
    assert_equal ["unfollowed_bot"], r.rule_ids
    assert_equal :accept, client.evaluate(T.activity_text("clean-note", n), actor: bot.merge(followed_by_local_users: true)).verdict
    assert_equal :accept, client.evaluate(T.activity_text("clean-note", n), actor: { "bot" => false, "followed_by_local_users" => false }).verdict
  end

  def test_bad_facts_raise
    c = client
    note = T.activity_text("clean-note")
    assert_raises(ArgumentError) { c.evaluate(note, actor: { followers: 3 }) }
    assert_raises(ArgumentError) { c.evaluate(note, actor: { followers_count: -1 }) }
    assert_raises(ArgumentError) { c.evaluate(note, actor: { followers_count: "3" }) }
    assert_raises(ArgumentError) { c.evaluate(note, actor: { bot: "yes" }) }
    assert_raises(ArgumentError) { c.evaluate(note, actor: { created_at: "2024-01-01" }) }
    assert_raises(ArgumentError) { c.evaluate(note, delivery: { remote_ip: 127 }) }
    assert_raises(ArgumentError) { c.evaluate(note, actor: [1]) }
    assert_raises(ArgumentError) { c.evaluate(42) }
  end

  def test_strings_with_bad_utf8_are_repaired
    r = client.evaluate(T.activity_text("clean-note"), actor: { display_name: "bad \xff name".b, bio: "<p>ok</p>" })
    assert_equal :accept, r.verdict
    refute r.failed?
  end

  def test_malformed_activity_follows_the_fail_mode
    r = client.evaluate("{ not json")
    assert r.failed?
    assert_equal :accept, r.verdict
    assert_equal "INVALID_ARGUMENT", r.error.code
    r = client(fail_mode: :closed).evaluate("{ not json")
    assert r.failed?
    assert_equal :reject, r.verdict
    # Too large for the server (over 1 MiB).
    big = T.activity("clean-note")
    big["object"]["content"] = "x" * (1_100_000)
    r = client(fail_mode: :closed).evaluate(big)
    assert_equal [:reject, "INVALID_ARGUMENT"], [r.verdict, r.error.code]
    # Not even serialisable: decided by the fail mode without a call.
    bad = T.activity("clean-note")
    bad["object"]["content"] = "\xff\xfe".b.force_encoding(Encoding::UTF_8)
    r = client(fail_mode: :closed).evaluate(bad)
    assert_equal [:reject, "INVALID_ARGUMENT"], [r.verdict, r.error.code]
  end

  def test_batch_keeps_order_with_item_errors
    n = T.next_number
    items = [
      T.activity_text("clean-note"),
      T.activity("casino-note"),
      "{ not json",
      { activity: T.activity_text("free-crypto-note", n), request_id: "crypto", dry_run: true },
      { activity: T.activity_text("clean-note"), actor: { created_at: Time.now, followers_count: 0 } }
    ]
    results = client.evaluate_batch(items)
    assert_equal %i[accept reject accept flag accept], results.map(&:verdict)
    assert_equal [false, false, true, false, false], results.map(&:failed?)
    assert_equal "INVALID_ARGUMENT", results[2].error.code
    assert_equal "crypto", results[3].request_id
    assert_nil results[3].flag_id
    assert_equal %i[strip_media mark_sensitive unlist], results[4].effects

    closed = client(fail_mode: :closed).evaluate_batch(items)
    assert_equal %i[accept reject reject flag accept], closed.map(&:verdict)
    assert_equal [], client.evaluate_batch([])
  end

  def test_batch_is_split_into_calls
    names = %w[clean-note casino-note clean-note casino-note casino-note]
    results = client(max_batch_items: 2).evaluate_batch(names.map { |n| T.activity_text(n) })
    assert_equal %i[accept reject accept reject reject], results.map(&:verdict)
  end

  def test_unserialisable_batch_item_fails_alone
    bad = T.activity("clean-note")
    bad["object"]["content"] = "\xff".b.force_encoding(Encoding::UTF_8)
    results = client.evaluate_batch([bad, T.activity_text("casino-note")])
    assert_equal [true, false], results.map(&:failed?)
    assert_equal %i[accept reject], results.map(&:verdict)
  end

  def assert_quick(limit = 1.0)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    value = yield
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
    assert_operator elapsed, :<, limit, "took #{elapsed.round(3)} s"
    value
  end

  def test_dead_address_fails_open_or_closed_quickly
    address = T.dead_address
    note = T.activity_text("casino-note")
    open = Fedwall::Client.new(address: address, fail_mode: :open)
    r = assert_quick { open.evaluate(note) }
    assert r.failed?
    assert_equal :accept, r.verdict
    assert_includes %w[UNAVAILABLE DEADLINE_EXCEEDED], r.error.code
    # Again, on a channel that has already failed once.
    assert_equal :accept, assert_quick { open.evaluate(note) }.verdict

    closed = Fedwall::Client.new(address: address, fail_mode: :closed)
    r = assert_quick { closed.evaluate(T.activity_text("clean-note")) }
    assert r.failed?
    assert_equal :reject, r.verdict

    batch = assert_quick { closed.evaluate_batch([note, note, note]) }
    assert_equal [:reject] * 3, batch.map(&:verdict)
    assert batch.all?(&:failed?)
  end

  def test_silent_server_hits_the_deadline
    # Accepts TCP connections and never answers: only the deadline ends the call.
    server = TCPServer.new("127.0.0.1", 0)
    accepted = []
    thread = Thread.new { loop { accepted << server.accept } rescue nil }
    c = Fedwall::Client.new(address: "127.0.0.1:#{server.addr[1]}", deadline: 0.25, fail_mode: :closed)
    r = assert_quick { c.evaluate(T.activity_text("clean-note")) }
    assert r.failed?
    assert_equal :reject, r.verdict
    assert_includes %w[DEADLINE_EXCEEDED UNAVAILABLE], r.error.code
  ensure
    c&.close
    server&.close
    thread&.kill
    accepted&.each(&:close)
  end

  def test_shared_client_across_threads
    c = client
    names = %w[clean-note casino-note suspended-domain-note]
    expected = { "clean-note" => :accept, "casino-note" => :reject, "suspended-domain-note" => :reject }
    texts = names.to_h { |n| [n, T.activity_text(n)] }
    errors = Queue.new
    threads = Array.new(8) do |t|
      Thread.new do
        25.times do |i|
          name = names[(t + i) % names.size]
          r = c.evaluate(texts[name])
          errors << "#{name}: #{r}" if r.verdict != expected[name] || r.failed?
        end
      end
    end
    threads.each(&:join)
    assert errors.empty?, "wrong answers: #{Array.new(errors.size) { errors.pop }.first(5)}"
  end

  def test_tls_credentials
    pem = nil
    tls = FedwallTest::Fedwalld.new(T.fedwalld_binary, T.fixtures) do |dir|
      pem = T.write_tls_files(dir)
      ["--tls-cert", File.join(dir, "cert.pem"), "--tls-key", File.join(dir, "key.pem")]
    end
    creds = GRPC::Core::ChannelCredentials.new(pem)
    r = Fedwall::Client.new(address: tls.address, deadline: 5, credentials: creds).evaluate(T.activity_text("casino-note"))
    assert_equal [:reject, false], [r.verdict, r.failed?]
    # Plaintext against a TLS port is a transport failure, not an exception.
    r = Fedwall::Client.new(address: tls.address, deadline: 2, fail_mode: :closed).evaluate(T.activity_text("clean-note"))
    assert_equal [:reject, true], [r.verdict, r.failed?]
  ensure
    tls&.stop
  end

  def test_close_then_reuse
    c = client
    assert_equal :reject, c.evaluate(T.activity_text("casino-note")).verdict
    c.close
    assert_equal :reject, c.evaluate(T.activity_text("casino-note")).verdict
  end

  def test_constructor_checks_its_options
    assert_raises(ArgumentError) { Fedwall::Client.new(address: "") }
    assert_raises(ArgumentError) { Fedwall::Client.new(address: "x:1", deadline: 0) }
    assert_raises(ArgumentError) { Fedwall::Client.new(address: "x:1", fail_mode: :maybe) }
    assert_raises(ArgumentError) { Fedwall::Client.new(address: "x:1", credentials: "tls") }
    assert_raises(ArgumentError) { Fedwall::Client.new(address: "x:1", max_batch_items: 0) }
    assert_raises(ArgumentError) { client.evaluate_batch("x") }
    assert_raises(ArgumentError) { client.evaluate_batch([{ activity: "{}", bogus: 1 }]) }
  end
end
