# frozen_string_literal: true

require "fedwall"
require "fedwall/mastodon"
require "logger"
require "stringio"

# Plain Ruby stand-ins for the parts of Mastodon's models the helper touches.
module Standin
  Scope = Struct.new(:rows) do
    def local
      Scope.new(rows.select { |r| r[:local] })
    end

    def exists?
      !rows.empty?
    end
  end

  class Account
    attr_accessor :created_at, :followers_count, :following_count, :statuses_count, :domain,
                  :display_name, :note, :uri, :followers_url, :follower_rows, :acct

    def initialize(**attrs)
      @bot = attrs.delete(:bot) || false
      @follower_rows = []
      @domain = "mastodon.example"
      @uri = "https://mastodon.example/users/alice"
      @followers_url = "https://mastodon.example/users/alice/followers"
      attrs.each { |k, v| public_send("#{k}=", v) }
    end

    def bot?
      @bot
    end

    def followers
      Scope.new(follower_rows)
    end
  end

  class Media
    attr_reader :destroyed

    def destroy
      @destroyed = true
    end
  end

  class Status
    attr_reader :id, :visibility, :sensitive, :media_attachments, :updates

    def initialize(visibility:, sensitive:, media_attachments:)
      @id = rand(1 << 40)
      @visibility = visibility
      @sensitive = sensitive
      @media_attachments = media_attachments
      @updates = []
    end

    def update!(attrs)
      @updates << attrs
      attrs.each { |k, v| instance_variable_set("@#{k}", v) }
      true
    end
  end

  # Mimics ActivityPub::Activity::Create: @json, @object (the same Hash as @json["object"]),
  # @account, @options; #perform creates a status from @object the way Mastodon reads it.
  class Create
    PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
    class << self
      attr_accessor :created
    end

    def initialize(json, account, options = {})
      @json = json
      @object = json["object"]
      @account = account
      @options = options
    end

    def perform
      object = object_for_status
      to = Array(object["to"])
      cc = Array(object["cc"])
      visibility = if to.include?(PUBLIC) then "public"
                   elsif cc.include?(PUBLIC) then "unlisted"
                   elsif to.include?(@account.followers_url) then "private"
                   else "direct"
                   end
      status = Status.new(visibility: visibility, sensitive: object["sensitive"] || false,
                          media_attachments: Array(object["attachment"]).map { Media.new })
      (Create.created ||= []) << status
      status
    end

    private

    def object_for_status
      @object
    end
  end

  # Like an object given by reference and fetched inside Mastodon: rewriting @json does not
  # reach what the status is made from.
  class CreateByReference < Create
    def initialize(*)
      super
      @fetched = JSON.parse(JSON.generate(@object))
    end

    private

    def object_for_status
      @fetched
    end
  end
end

class MastodonHelperTest < Minitest::Test
  M = Fedwall::Mastodon
  T = FedwallTest

  def young_account(**extra)
    Standin::Account.new(created_at: Time.now - 3600, followers_count: 1, following_count: 3,
                         statuses_count: 2, **extra)
  end

  def test_actor_facts_from_an_account
    account = young_account(bot: true, display_name: "Alice", note: "<p>hi</p>")
    account.follower_rows = [{ local: false }, { local: true }]
    facts = M.actor_facts(account)
    assert_equal({ created_at: account.created_at, followers_count: 1, following_count: 3, statuses_count: 2,
                   bot: true, followed_by_local_users: true, display_name: "Alice", bio: "<p>hi</p>" }, facts)
    account.follower_rows = [{ local: false }]
    assert_equal false, M.actor_facts(account)[:followed_by_local_users]
  end

  def test_actor_facts_leave_out_what_is_not_known
    account = Standin::Account.new(followers_count: -3, display_name: "")
    facts = M.actor_facts(account)
    assert_equal 0, facts[:followers_count], "negative counters are clamped"
    refute facts.key?(:created_at)
    refute facts.key?(:following_count)
    refute facts.key?(:display_name)
    # An object without followers/bot? says nothing about them.
    facts = M.actor_facts(Struct.new(:created_at).new(Time.now))
    assert_equal [:created_at], facts.keys
  end

  def test_delivery_facts
    account = young_account
    assert_equal({ sender_domain: "mastodon.example" }, M.delivery_facts(account))
    relay = Standin::Account.new(domain: "relay.example")
    t = Time.now
    assert_equal({ sender_domain: "relay.example", received_at: t }, M.delivery_facts(account, relayed_through: relay, received_at: t))
    assert_equal({}, M.delivery_facts(Standin::Account.new(domain: nil)))
  end

  def test_rewrite_object_for_each_effect
    base = lambda do
      { "to" => [Standin::Create::PUBLIC], "cc" => ["https://mastodon.example/users/alice/followers"],
        "sensitive" => false, "attachment" => [{ "url" => "https://x/y.png" }] }
    end
    o = M.rewrite_object!(base.call, %i[mark_sensitive strip_media])
    assert_equal true, o["sensitive"]
    assert_equal [], o["attachment"]
    assert_equal [Standin::Create::PUBLIC], o["to"], "no audience effect: audience kept"

    o = M.rewrite_object!(base.call, [:unlist])
    assert_equal [], o["to"]
    assert_includes o["cc"], Standin::Create::PUBLIC

    o = M.rewrite_object!({ "to" => "as:Public", "cc" => [] }, [:unlist])
    assert_equal [Standin::Create::PUBLIC], o["cc"]

    followers = "https://mastodon.example/users/alice/followers"
    o = M.rewrite_object!(base.call, %i[unlist followers_only], followers_url: followers)
    assert_equal [followers], o["to"]
    refute_includes o["cc"], Standin::Create::PUBLIC

    # Already unlisted or private posts are not widened.
    o = M.rewrite_object!({ "to" => [followers], "cc" => [] }, [:unlist])
    assert_equal({ "to" => [followers], "cc" => [] }, o)
    assert_equal "https://x/note", M.rewrite_object!("https://x/note", [:unlist])
  end

  def test_apply_effects_only_narrows
    status = Standin::Status.new(visibility: "public", sensitive: false, media_attachments: [Standin::Media.new])
    applied = M.apply_effects(status, %i[strip_media mark_sensitive unlist])
    assert_equal %i[mark_sensitive unlist strip_media], applied
    assert_equal true, status.sensitive
    assert_equal :unlisted, status.visibility
    assert status.media_attachments.all?(&:destroyed)
    assert_equal 1, status.updates.size, "one update for all attributes"

    direct = Standin::Status.new(visibility: "direct", sensitive: true, media_attachments: [])
    assert_equal [], M.apply_effects(direct, %i[mark_sensitive unlist followers_only strip_media])
    assert_empty direct.updates

    unlisted = Standin::Status.new(visibility: :unlisted, sensitive: false, media_attachments: [])
    assert_equal [:followers_only], M.apply_effects(unlisted, [:followers_only])
    assert_equal :private, unlisted.visibility
  end

  def test_report_comment
    match = Fedwall::Match.new(rule_id: "free_crypto", reason: "Free crypto offer", score: 0.0, monitor: false, evidence: [])
    watch = Fedwall::Match.new(rule_id: "watch", reason: "w", score: 0.0, monitor: true, evidence: [])
    r = Fedwall::Result.new(verdict: :flag, matches: [match, watch], flag_id: "7")
    assert_equal "fedwall flag 7: free_crypto (Free crypto offer)", M.report_comment(r)
    long = Fedwall::Match.new(rule_id: "x", reason: "y" * 5000, score: 0.0, monitor: false, evidence: [])
    assert_equal 1000, M.report_comment(Fedwall::Result.new(verdict: :flag, matches: [long])).length
  end
end

class MastodonHookTest < Minitest::Test
  M = Fedwall::Mastodon
  T = FedwallTest

  class HookedCreate < Standin::Create
    prepend Fedwall::Mastodon::CreateHook
  end

  class HookedCreateByReference < Standin::CreateByReference
    prepend Fedwall::Mastodon::CreateHook
  end

  def setup
    @flags = []
    @rejects = []
    @log = StringIO.new
    M.configure do |c|
      c.client = Fedwall::Client.new(address: T.server.address, deadline: 5)
      c.on_flag = ->(status, result, account) { @flags << [status, result, account] }
      c.on_reject = ->(json, account, result) { @rejects << [json, account, result] }
      c.logger = Logger.new(@log)
    end
    Standin::Create.created = []
  end

  def teardown
    M.configure { |c| c.client = c.on_flag = c.on_reject = c.logger = nil }
  end

  def created
    Standin::Create.created
  end

  def old_account
    Standin::Account.new(created_at: Time.now - (400 * 86_400), followers_count: 300, statuses_count: 900)
  end

  def test_reject_creates_nothing
    json = T.activity("casino-note")
    assert_nil HookedCreate.new(json, old_account).perform
    assert_empty created
    assert_equal 1, @rejects.size
    assert_equal ["casino_ad"], @rejects.first[2].rule_ids
  end

  def test_accept_creates_the_status_unchanged
    status = HookedCreate.new(T.activity("clean-note"), old_account).perform
    assert_equal [status], created
    assert_equal ["public", false], [status.visibility, status.sensitive]
    assert_empty status.updates
    assert_empty @flags
  end

  def test_flag_creates_and_reports
    n = T.next_number
    account = old_account
    status = HookedCreate.new(T.activity("free-crypto-note", n), account).perform
    assert_equal [status], created
    assert_equal 1, @flags.size
    flagged, result, who = @flags.first
    assert_same status, flagged
    assert_same account, who
    refute_nil result.flag_id
    assert_match(/\Afedwall flag #{result.flag_id}: free_crypto/, M.report_comment(result))
  end

  def test_effects_from_account_facts_shape_the_new_status
    json = T.activity("clean-note")
    json["object"]["attachment"] = [{ "type" => "Document", "url" => "https://mastodon.example/a.png" }]
    account = Standin::Account.new(created_at: Time.now - 3600, followers_count: 0)
    status = HookedCreate.new(json, account).perform
    # The object was rewritten before the status was made: no update needed afterwards.
    assert_equal ["unlisted", true, []], [status.visibility, status.sensitive, status.media_attachments]
    assert_empty status.updates
  end

  def test_effects_reach_a_status_made_from_a_fetched_object
    json = T.activity("clean-note")
    json["object"]["attachment"] = [{ "type" => "Document", "url" => "https://mastodon.example/a.png" }]
    account = Standin::Account.new(created_at: Time.now - 3600, followers_count: 0)
    status = HookedCreateByReference.new(json, account).perform
    assert_equal [:unlisted, true], [status.visibility, status.sensitive]
    assert status.media_attachments.all?(&:destroyed)
  end

  def test_bot_facts_from_follows
    account = old_account
    account.instance_variable_set(:@bot, true)
    n = T.next_number
    HookedCreate.new(T.activity("clean-note", n), account).perform
    assert_equal ["unfollowed_bot"], @flags.map { |f| f[1].rule_ids }.flatten
    account.follower_rows = [{ local: true }]
    HookedCreate.new(T.activity("clean-note", T.next_number), account).perform
    assert_equal 1, @flags.size
  end

  def test_fedwall_down_fails_open_or_closed
    M.config.client = Fedwall::Client.new(address: T.dead_address, fail_mode: :open)
    refute_nil HookedCreate.new(T.activity("casino-note"), old_account).perform
    M.config.client = Fedwall::Client.new(address: T.dead_address, fail_mode: :closed)
    assert_nil HookedCreate.new(T.activity("clean-note"), old_account).perform
    assert_equal 1, created.size
  end

  def test_errors_in_the_glue_and_callbacks_do_not_break_federation
    broken = Struct.new(:followers_count).new("many") # Integer("many") raises
    status = HookedCreate.new(T.activity("casino-note"), broken).perform
    refute_nil status, "fail open on an error of the helper itself"
    assert_match(/evaluating a Create failed/, @log.string)

    M.config.on_flag = ->(*) { raise "report service down" }
    refute_nil HookedCreate.new(T.activity("free-crypto-note", T.next_number), old_account).perform
    assert_match(/on_flag failed: RuntimeError: report service down/, @log.string)
  end

  # A Create whose status already exists: Mastodon returns the stored status (an
  # ActiveRecord object whose previously_new_record? is false).
  class HookedRedelivery < Standin::Create
    prepend Fedwall::Mastodon::CreateHook

    def perform
      status = super
      status.define_singleton_method(:previously_new_record?) { false }
      status
    end
  end

  def test_a_redelivery_is_not_reported_or_changed_again
    json = T.activity("free-crypto-note", T.next_number)
    account = Standin::Account.new(created_at: Time.now - 60, followers_count: 0)
    status = HookedRedelivery.new(json, account).perform
    assert_empty status.updates
    assert_empty @flags
  end

  def test_without_a_client_the_hook_stays_out_of_the_way
    M.config.client = nil
    refute_nil HookedCreate.new(T.activity("casino-note"), old_account).perform
  end
end

# Loads examples/mastodon_initializer.rb itself, with stand-ins for the Rails and Mastodon
# constants it names.
class MastodonInitializerTest < Minitest::Test
  T = FedwallTest
  INITIALIZER = File.expand_path("../examples/mastodon_initializer.rb", __dir__)

  module FakeRails
    Config = Struct.new(:prepare_blocks) do
      def to_prepare(&block)
        prepare_blocks << block
      end
    end

    def self.logger
      @logger ||= Logger.new(StringIO.new)
    end

    def self.application
      @application ||= Struct.new(:config).new(Config.new([]))
    end
  end

  class FakeReportService
    class << self
      attr_accessor :calls
    end

    def call(source, target, **options)
      (self.class.calls ||= []) << [source, target, options]
    end
  end

  def setup
    @saved_env = ENV.to_h.slice("FEDWALL_ADDRESS", "FEDWALL_DEADLINE", "FEDWALL_REPORTS", "FEDWALL_FAIL_MODE")
    Object.const_set(:Rails, FakeRails) unless defined?(::Rails)
    Object.const_set(:ReportService, FakeReportService) unless defined?(::ReportService)
    Object.const_set(:Account, Struct.new(:representative).new(:representative_account)) unless defined?(::Account)
    unless defined?(::ActivityPub)
      Object.const_set(:ActivityPub, Module.new)
      ActivityPub.const_set(:Activity, Class.new)
      ActivityPub::Activity.const_set(:Create, Class.new(Standin::Create))
    end
    FakeReportService.calls = []
    Standin::Create.created = []
  end

  def teardown
    %w[FEDWALL_ADDRESS FEDWALL_DEADLINE FEDWALL_REPORTS FEDWALL_FAIL_MODE].each { |k| ENV.delete(k) }
    ENV.update(@saved_env)
    Fedwall::Mastodon.configure { |c| c.client = c.on_flag = c.on_reject = c.logger = nil }
  end

  def test_the_example_initializer_moderates_creates
    ENV["FEDWALL_ADDRESS"] = T.server.address
    ENV["FEDWALL_DEADLINE"] = "5"
    ENV["FEDWALL_REPORTS"] = "true"
    load INITIALIZER
    Rails.application.config.prepare_blocks.each(&:call)
    assert_includes ActivityPub::Activity::Create.ancestors, Fedwall::Mastodon::CreateHook
    assert_equal :open, Fedwall::Mastodon.config.client.fail_mode

    account = Standin::Account.new(created_at: Time.now - (90 * 86_400), followers_count: 40, acct: "alice@mastodon.example")
    assert_nil ActivityPub::Activity::Create.new(T.activity("casino-note"), account).perform
    status = ActivityPub::Activity::Create.new(T.activity("free-crypto-note", T.next_number), account).perform
    refute_nil status
    assert_equal 1, FakeReportService.calls.size
    source, target, options = FakeReportService.calls.first
    assert_equal [:representative_account, account, [status.id], false],
                 [source, target, options[:status_ids], options[:forward]]
    assert_match(/\Afedwall flag \d+: free_crypto/, options[:comment])
  end
end
