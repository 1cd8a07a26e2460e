# frozen_string_literal: true

module Fedwall
  VERSION = "0.1.0"
end
