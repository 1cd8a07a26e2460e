# frozen_string_literal: true

require "fileutils"
require "json"
require "socket"
require "tmpdir"

# A real fedwalld for the tests: a temporary copy of the fixture policy (with the rules below
# added), a temporary store and token, port 0; the address is read from its stdout.
module FedwallTest
  # Rules on actor facts, so the tests prove that facts sent by the client reach the rules.
  EXTRA_RULES = <<~RULES
    rule young_small_account "Young account with few followers" {
      when  type == "Create" and actor.age < 7d and actor.followers < 5
      then  strip_media, mark_sensitive, unlist
    }

    rule unfollowed_bot "Bot that no local user follows" {
      when  type == "Create" and actor.bot and actor.followed == false
      then  flag
    }
  RULES

  class Fedwalld
    attr_reader :address, :token, :dir

    # extra: more fedwalld arguments; a block may write files into the directory first and
    # return them (e.g. a TLS certificate).
    def initialize(binary, fixtures, extra = [])
      @dir = Dir.mktmpdir("fedwall-ruby-")
      extra = yield(@dir) if block_given?
      FileUtils.cp_r(File.join(fixtures, "policy"), File.join(@dir, "policy"))
      File.open(File.join(@dir, "policy", "main.rules"), "a") { |f| f.write("\n#{EXTRA_RULES}") }
      @token = "ruby-client-test-#{rand(1 << 64)}"
      token_file = File.join(@dir, "admin-token")
      File.write(token_file, @token)
      File.chmod(0o600, token_file)
      @stdout = File.join(@dir, "stdout")
      @stderr = File.join(@dir, "stderr")
      @pid = Process.spawn(binary, "--listen", "127.0.0.1:0", "--policy", File.join(@dir, "policy"),
                           "--store", File.join(@dir, "store.db"), "--admin-token-file", token_file,
                           "--no-watch", *extra, out: @stdout, err: @stderr)
      @address = wait_for_address
    rescue StandardError
      stop
      raise
    end

    # SIGTERM (fedwalld drains and exits 0), SIGKILL after 10 s; removes the directory.
    def stop
      if @pid
        Process.kill("TERM", @pid)
        deadline = Time.now + 10
        until Process.wait(@pid, Process::WNOHANG)
          if Time.now > deadline
            Process.kill("KILL", @pid)
            Process.wait(@pid)
            break
          end
          sleep 0.05
        end
        @pid = nil
      end
      FileUtils.rm_rf(@dir)
    end

    private

    def wait_for_address
      deadline = Time.now + 20
      loop do
        line = File.exist?(@stdout) && File.readlines(@stdout).find { |l| l.start_with?("listening on ") }
        return line.split(" ", 3).last.strip if line

        if Process.wait(@pid, Process::WNOHANG)
          @pid = nil
          raise "fedwalld exited before listening: #{File.read(@stderr)}"
        end
        raise "fedwalld did not print 'listening on' within 20 s: #{File.read(@stderr)}" if Time.now > deadline

        sleep 0.05
      end
    end
  end

  class << self
    attr_accessor :fedwalld_binary, :fixtures

    def server
      @server ||= Fedwalld.new(fedwalld_binary, fixtures)
    end

    def stop
      @server&.stop
    end

    def activity_text(name, number = nil, host: nil)
      text = File.read(File.join(fixtures, "activities", "#{name}.json"))
      text = text.gsub("1001", number.to_s) if number
      text = text.gsub("mastodon.example", host) if host
      text
    end

    def activity(name, number = nil, host: nil)
      JSON.parse(activity_text(name, number, host: host))
    end

    # Status numbers unique within this run (and across runs: the store is new each time).
    def next_number
      @number = (@number || 5000) + 1
    end

    def admin_stub
      @admin_stub ||= Fedwall::V1::AdminService::Stub.new(server.address, :this_channel_is_insecure)
    end

    def admin(method, request)
      admin_stub.public_send(method, request, metadata: { "authorization" => "Bearer #{server.token}" },
                                              deadline: Time.now + 5)
    end

    # A self-signed certificate for 127.0.0.1, made with Ruby's OpenSSL (no openssl command).
    def write_tls_files(dir)
      require "openssl"
      key = OpenSSL::PKey::RSA.new(2048)
      cert = OpenSSL::X509::Certificate.new
      cert.version = 2
      cert.serial = 1
      cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/CN=127.0.0.1")
      cert.public_key = key.public_key
      cert.not_before = Time.now - 60
      cert.not_after = Time.now + 3600
      ext = OpenSSL::X509::ExtensionFactory.new(cert, cert)
      cert.add_extension(ext.create_extension("subjectAltName", "IP:127.0.0.1,DNS:localhost"))
      cert.add_extension(ext.create_extension("basicConstraints", "CA:TRUE", true))
      cert.sign(key, OpenSSL::Digest.new("SHA256"))
      File.write(File.join(dir, "cert.pem"), cert.to_pem)
      File.write(File.join(dir, "key.pem"), key.to_pem)
      File.chmod(0o600, File.join(dir, "key.pem"))
      cert.to_pem
    end

    # An address where nothing listens: bound, then closed, so connecting is refused.
    def dead_address
      s = TCPServer.new("127.0.0.1", 0)
      port = s.addr[1]
      s.close
      "127.0.0.1:#{port}"
    end
  end
end
