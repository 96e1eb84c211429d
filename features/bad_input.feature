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
