@bad_input
Feature: Bad input gets a clear answer and loses nothing
  The public listener is no open relay, refuses what is too big, never repairs what it delivers,
  and never treats a half-received message as accepted.

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: A recipient outside the local domains is refused on the public listener
    When an outside sender sends a message to "someone@elsewhere.test" through the public listener
    Then the gateway answers 550 5.7.1 to that recipient
    And the mail log shows "To: <someone@elsewhere.test> Rejected by Receiving Domain"
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A message over the size limit is refused with 552
    Given the maximum message size is 2000 bytes
    When an outside sender sends a message of 5000 bytes to 1 local recipient
    Then the gateway answers 552 to the data
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A client that disconnects in the middle of DATA leaves nothing behind
    When an outside sender disconnects in the middle of DATA
    Then the mail log shows "Message finished MID \d+ aborted"
    And the mail log shows "Incoming connection \(ICID \d+\) lost\."
    And the mail log does not show "queued for delivery"
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A carriage return in a quoted local part is refused at MAIL and starts no transaction
    When an outside sender gives MAIL FROM:<"p<CR>To: victim@example.com<CR>"@outside.test> and then RCPT TO a local recipient
    Then the gateway answers 501 5.1.7 to MAIL
    And the gateway answers 503 to that RCPT: no transaction was started
    And the mail log does not show "Start MID"
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A non-ASCII address without the SMTPUTF8 parameter is refused with 553 5.6.7
    When an outside sender gives MAIL FROM:<jörg@outside.test> and then RCPT TO a local recipient
    Then the gateway answers 553 5.6.7 to MAIL
    And the gateway answers 503 to that RCPT: no transaction was started
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: Non-ASCII addresses with SMTPUTF8 are delivered and journaled
    When an outside sender sends a message from "jörg@outside.test" to "zoë@example.com" with SMTPUTF8
    Then the gateway answers 250 and names the MID
    And every recipient's mailbox receives the original
    And Threat Defense found the journal valid
    And the journal's report has 1 "To:" lines
