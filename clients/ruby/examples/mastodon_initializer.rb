# frozen_string_literal: true

# config/initializers/fedwall.rb — ask fedwall about every inbound Create before Mastodon
# makes a status of it.
#
# THIS PATCHES MASTODON'S INTERNALS. It prepends a module to
# ActivityPub::Activity::Create#perform and reads its @json, @account and @options, none of
# which is a public API. fedwall's tests exercise it only against plain-Ruby stand-ins, not a
# running Mastodon. Pin it to the Mastodon version you tried it on, and try it again on a
# staging instance before every Mastodon upgrade. Documentation:
# docs/integrations/mastodon.md in the fedwall repository.
#
# Environment:
#   FEDWALL_ENABLED    false: do not install the hook (takes effect when Mastodon's web and
#                      Sidekiq processes restart)
#   FEDWALL_ADDRESS    host:port of fedwalld's gRPC port (default 127.0.0.1:50051)
#   FEDWALL_DEADLINE   seconds per call (default 0.25)
#   FEDWALL_FAIL_MODE  open (default: accept when fedwall cannot answer) or closed (reject)
#   FEDWALL_REPORTS    true: file a Mastodon report for each FLAG (default: the flag waits
#                      in fedwall's own review queue only)

require "fedwall"
require "fedwall/mastodon"

if ENV.fetch("FEDWALL_ENABLED", "true") == "true"
  Fedwall::Mastodon.configure do |c|
    c.logger = Rails.logger
    # One client for the whole process: it is thread-safe (Sidekiq runs many threads) and
    # opens its connection on first use, after Puma or Sidekiq have forked.
    c.client = Fedwall::Client.new(
      address: ENV.fetch("FEDWALL_ADDRESS", "127.0.0.1:50051"),
      deadline: Float(ENV.fetch("FEDWALL_DEADLINE", "0.25")),
      fail_mode: ENV.fetch("FEDWALL_FAIL_MODE", "open") == "closed" ? :closed : :open,
      logger: Rails.logger
    )

    c.on_reject = lambda do |json, account, result|
      Rails.logger.info("fedwall: rejected #{json['id']} from #{account.acct}: #{result}")
    end

    c.on_flag = lambda do |status, result, account|
      Rails.logger.info("fedwall: flagged status #{status.id} from #{account.acct}: #{result}")
      next unless ENV["FEDWALL_REPORTS"] == "true"

      # A report from the instance's own representative account, so it shows up in
      # Mastodon's moderation UI next to user reports. Not forwarded to the remote server.
      ReportService.new.call(
        Account.representative, account,
        status_ids: [status.id],
        comment: Fedwall::Mastodon.report_comment(result),
        forward: false
      )
    end
  end

  # to_prepare: again after each code reload in development (prepending twice is a no-op).
  Rails.application.config.to_prepare do
    ActivityPub::Activity::Create.prepend(Fedwall::Mastodon::CreateHook)
  end
end
