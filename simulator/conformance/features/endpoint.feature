Feature: The intake endpoint under test, as our gateway's Threat Defense Connector meets it
  BEHAVIOUR.md section 8. The kit plays the gateway's connector: it probes the endpoint's SMTP and
  TLS, and sends it journals the way our gateway does (STARTTLS required, TLS 1.2 or better, the
  certificate verified by name against the CA given or the system trust store). Every check prints
  its SMTP transcript: each line sent (C:) and answered (S:), and each TLS handshake.

  Background:
    Given the intake endpoint under test

  Scenario: 8.1-starttls-offered — the endpoint offers STARTTLS in its answer to EHLO
    When the kit greets the endpoint under test with EHLO
    Then the endpoint under test lists STARTTLS among its EHLO keywords

  Scenario: 8.1-starttls-required — MAIL before STARTTLS is refused with a 5xx answer
    When the kit sends MAIL FROM to the endpoint under test before STARTTLS
    Then the endpoint under test refuses that MAIL command with a 5xx answer

  Scenario: 8.1-tls10-refused — a client offering only TLS 1.0 gets no TLS session
    When the kit starts TLS with the endpoint under test offering only TLS 1.0
    Then the endpoint under test establishes no TLS 1.0 session

  Scenario: 8.1-tls11-refused — a client offering only TLS 1.1 gets no TLS session
    When the kit starts TLS with the endpoint under test offering only TLS 1.1
    Then the endpoint under test establishes no TLS 1.1 session

  Scenario: 8.1-tls12-accepted — a client offering only TLS 1.2 gets a TLS 1.2 session
    When the kit starts TLS with the endpoint under test offering only TLS 1.2
    Then the endpoint under test establishes a TLS 1.2 session and answers EHLO in it

  Scenario: 8.1-tls13-accepted — a client offering only TLS 1.3 gets a TLS 1.3 session
    When the kit starts TLS with the endpoint under test offering only TLS 1.3
    Then the endpoint under test establishes a TLS 1.3 session and answers EHLO in it

  Scenario: 8.8-certificate-valid-for-name — the certificate is trusted and valid for the endpoint's name
    When the kit starts TLS with the endpoint under test as the connector does, verifying the certificate
    Then the endpoint under test presents a certificate the connector trusts for the endpoint's name

  Scenario: 8.4-valid-journal-accepted — a valid journal from the connector is accepted
    When the connector sends 1 journal to the endpoint under test
    Then the endpoint under test accepts every journal with a 250 answer

  Scenario: 8.2-unknown-intake-refused — an unknown intake address is refused with a 5xx answer at RCPT
    When the kit gives the endpoint under test an unknown intake address at RCPT, then its own
    Then the endpoint under test refuses the unknown intake address with a 5xx answer
    And the endpoint under test accepts its own intake address in the same transaction

  Scenario: 8.3-eleventh-message — the 11th journal on one connection is accepted, or answered 421 and not lost
    When the connector sends 11 journals on one connection to the endpoint under test
    Then the endpoint under test accepts the 11th journal on that connection or answers it with 421
    And the endpoint under test refuses no journal with a 5xx answer
    And every journal is accepted, at the latest when the connector sends it again on a new connection

  Scenario: 8.9-temporary-is-4xx — a 4xx answer is temporary: the same journal, sent again, is accepted
    This check judges only the 4xx answers it sees. It sends 11 journals on one connection (an
    endpoint that takes 10 per connection answers the 11th with 421) and sends every journal
    answered with a 4xx again on a new connection. If the endpoint answers no 4xx at all, the
    check is not run (it has nothing to judge), never passed.

    When the connector sends 11 journals on one connection to the endpoint under test
    Then every journal the endpoint under test answered with a 4xx is accepted when the connector sends it again
