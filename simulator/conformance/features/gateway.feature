Feature: Gateway conformance: the kit plays Threat Defense and the mailbox host
  The product under test is a gateway. The kit runs the gateway's counterparts -- Threat Defense at
  the intake address, and the mailbox host that is the gateway's next hop for every other domain --
  injects mail into the gateway's listeners and judges what arrives (BEHAVIOUR.md §1-§4). What SMTP
  cannot do (switch the connector, set the intake address, read the mail log, make it retry now) goes
  through the vendor's driver; a check whose hook or setting is missing is not run, never passed.

  Background:
    Given the kit's Threat Defense behaves

  Scenario: 2.1-incoming-copied — an incoming message is copied once, whatever its number of recipients
    When the kit injects a message into the gateway under test's incoming listener
    Then the kit's mailbox host receives the original
    And the kit's Threat Defense receives exactly one copy of it

  Scenario: 2.1-outgoing-not-copied — an outgoing message is never copied
    When the kit injects a message into the gateway under test's outgoing listener
    Then the kit's mailbox host receives the original
    And the kit's Threat Defense receives no copy of it

  Scenario: 2.4-dropped-not-copied — a message the gateway drops is not copied
    When the kit injects the sample the gateway under test drops
    Then the kit's Threat Defense receives no copy of it
    And the kit's mailbox host receives nothing of it

  Scenario: 2.4-quarantined-not-copied — a message the gateway quarantines is not copied
    When the kit injects the sample the gateway under test quarantines
    Then the kit's Threat Defense receives no copy of it
    And the kit's mailbox host receives nothing of it

  Scenario: 2.5-one-copy-per-splinter — a message split between two policies is copied once per splinter
    When the kit injects a message for the two split recipients
    Then the kit's Threat Defense receives one copy per splinter, naming that splinter's recipient

  Scenario: 3-envelope-one-recipient — the envelope has exactly one RCPT TO
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "envelope.one-recipient"

  Scenario: 3-envelope-intake-address — the RCPT TO is the intake address
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "envelope.intake-address"

  Scenario: 3-wrapper-multipart-mixed — the top level is multipart/mixed
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.multipart-mixed"

  Scenario: 3-wrapper-journal-marker — the top level carries X-MS-Journal-Report:
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.journal-marker"

  Scenario: 3-wrapper-from — From: is the envelope sender (the gateway's system address)
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.from"

  Scenario: 3-wrapper-to — To: is the intake address
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.to"

  Scenario: 3-wrapper-subject — Subject: is the original's subject
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.subject"

  Scenario: 3-wrapper-message-id — the copy has a Message-ID of its own
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.message-id"

  Scenario: 3-wrapper-x-ironport-mid — X-IronPort-MID: holds the original's MID
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "wrapper.x-ironport-mid"

  Scenario: 3-parts-two — there are exactly two parts: the report and the original
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "parts.two"

  Scenario: 3-report-text-plain — part 1 is text/plain
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "report.text-plain"

  Scenario: 3-report-fields — part 1 has Sender:, Subject:, Message-ID: and at least one To: line
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "report.fields"

  Scenario: 3-report-matches-original — part 1's Subject: and Message-ID: are the original's
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "report.matches-original"

  Scenario: 3-original-rfc822 — part 2 is message/rfc822
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "original.rfc822"

  Scenario: 3-original-remote-ip — the original carries X-IronPort-RemoteIP:
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy keeps the journal rule "original.remote-ip"

  Scenario: 3-rfc822-byte-identical — the copy embeds the original exactly as the mailbox host received it
    When the kit injects a message into the gateway under test's incoming listener
    Then the copy embeds the original byte for byte as the kit's mailbox host received it

  Scenario: 4.1-starttls-required — with STARTTLS withdrawn, no copy goes in plaintext
    Given the kit's Threat Defense offers no STARTTLS
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test tries the kit's Threat Defense
    And no copy of it reaches the kit's Threat Defense in plaintext
    When the kit's Threat Defense behaves again
    And the gateway under test retries
    Then the kit's Threat Defense receives exactly one copy of it
    And every copy of it came over TLS 1.2 or better

  Scenario: 4.1-tls12-minimum — with only TLS 1.1 on offer, no copy goes over TLS 1.1
    Given the kit's Threat Defense speaks TLS 1.1 at most
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test tries the kit's Threat Defense
    And no copy of it reaches the kit's Threat Defense below TLS 1.2
    When the kit's Threat Defense behaves again
    And the gateway under test retries
    Then the kit's Threat Defense receives exactly one copy of it
    And every copy of it came over TLS 1.2 or better

  Scenario: 4.3-ten-per-connection — no connection to Threat Defense carries more than 10 copies
    Given the kit's Threat Defense is down
    When the kit injects 11 messages into the gateway under test's incoming listener
    And the gateway under test retries
    And the kit's Threat Defense behaves again
    And the gateway under test retries
    Then the kit's Threat Defense receives exactly one copy of each
    And no connection to the kit's Threat Defense carried more than 10 messages

  Scenario: 4.4-retried-after-4xx — a copy answered 4xx is retried and arrives
    Given the kit's Threat Defense answers the next copy with 451
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test is refused by the kit's Threat Defense
    When the gateway under test retries
    Then the kit's Threat Defense receives exactly one copy of it

  Scenario: 4.4-retried-after-tls-fault — a copy that met a certificate nobody trusts is retried and arrives
    Given the kit's Threat Defense presents an untrusted certificate
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test tries the kit's Threat Defense
    And no copy of it reaches the kit's Threat Defense
    When the kit's Threat Defense behaves again
    And the gateway under test retries
    Then the kit's Threat Defense receives exactly one copy of it
    And every copy of it came over TLS 1.2 or better

  Scenario: 4.5-no-bounce-to-sender — a copy refused for good never bounces to the original sender
    Given the kit's Threat Defense refuses every copy with 554
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test is refused by the kit's Threat Defense
    And the kit's mailbox host receives the original
    When the kit's Threat Defense behaves again
    And the gateway under test retries
    Then no bounce reaches the original sender

  Scenario: 1-disabled-connector-sends-nothing — a disabled connector copies nothing
    Given the gateway under test's connector is disabled
    When the kit injects a message into the gateway under test's incoming listener
    Then the kit's mailbox host receives the original
    And the kit's Threat Defense receives no copy of it

  Scenario: 1-intake-address-followed — the copy goes to the intake address the gateway is set to
    Given the gateway under test's intake address is the kit's second intake address
    When the kit injects a message into the gateway under test's incoming listener
    Then the kit's Threat Defense receives exactly one copy of it, at the second intake address

  Scenario: 4.2-tls-error-logged — a TLS failure is logged in the seed's words
    Given the kit has read the gateway under test's mail log
    And the kit's Threat Defense offers no STARTTLS
    When the kit injects a message into the gateway under test's incoming listener
    Then the gateway under test tries the kit's Threat Defense
    And the gateway under test's mail log gains the seed's TLS Error line
