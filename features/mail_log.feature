@mail_log
Feature: The mail log and message tracking of a live run read as the vendor's do
  Every line here is written by the running sandbox for mail sent over real sockets: the event order
  of a normal incoming message (BEHAVIOUR.md §7.1) and the seed's tracking example, message 3
  delivered while its copy, message 4, fails TLS (§7.3).

  Scenario: A normal incoming message logs the documented events in the documented order
    Given a running sandbox with the Threat Defense Connector enabled
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows these lines, in this order:
      | line                                                                               |
      | New SMTP ICID <icid> interface <any> address 127.0.0.1 reverse dns host unknown verified no |
      | ICID <icid> ACCEPT SG <any> match ALL SBRS None                                    |
      | Start MID <mid> ICID <icid>                                                        |
      | MID <mid> ICID <icid> From: <<sender>>                                             |
      | MID <mid> ICID <icid> RID 0 To: <<recipient>>                                      |
      | MID <mid> Message-ID '<any>'                                                       |
      | MID <mid> Subject '<any>'                                                          |
      | MID <mid> ready <n> bytes from <<sender>>                                          |
      | MID <mid> matched all recipients for per-recipient policy DEFAULT in the inbound table |
      | MID <mid> <any> negative                                                           |
      | MID <mid> queued for delivery                                                      |
      | New SMTP DCID <dcid> interface 127.0.0.1 address 127.0.0.1 port <n>                |
      | Delivery start DCID <dcid> MID <mid> to RID [0]                                    |
      | Message done DCID <dcid> MID <mid> to RID [0]                                      |
      | MID <mid> RID [0] Response '<any>'                                                 |
      | Message finished MID <mid> done                                                    |
      | DCID <dcid> close                                                                  |
    And the mail log shows these lines, in this order:
      | line                                                                               |
      | MID <mid> queued for delivery                                                      |
      | New SMTP DCID <copy dcid> interface 127.0.0.1 address 127.0.0.1 port <n>           |
      | DCID <copy dcid> TLS success protocol TLSv1.<n> cipher <any>                       |
      | Delivery start DCID <copy dcid> MID <copy> to RID [0]                              |
      | Message done DCID <copy dcid> MID <copy> to RID [0]                                |
      | TDC: Message <copy> delivered to Cisco Secure Email Threat Defense.                |
      | Message finished MID <copy> done                                                   |

  Scenario: The seed's tracking example, every row in order, from the tracking of a live run
    Given a running sandbox with the Threat Defense Connector enabled
    And 2 messages have already been relayed by internal senders
    And Threat Defense has the fault "untrusted-cert"
    When an outside sender sends a message to 1 local recipient and, once it is handled, drops the connection without QUIT
    Then the gateway answers 250 and names MID 3
    And the admin API's tracking of message 3 shows exactly these events, in this order:
      | event                                                                           |
      | Message 3 queued for delivery.                                                  |
      | (DCID <n>) Delivery started for message 3 to <recipient>.                       |
      | (CID <n>) Delivery details: Message 3 sent to <recipient>                       |
      | Message 3 to <recipient> received remote SMTP response "<response>"             |
      | TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error. |
      | Incoming connection (ICID 3) lost.                                              |

  Scenario: The true sender comes from X-IronPort-RemoteIP, not from the connection Threat Defense sees
    Given a running sandbox with the Threat Defense Connector enabled
    When an outside sender at 127.0.0.2 sends a message with the subject "Our monthly newsletter" to 1 local recipient
    Then Threat Defense receives 1 journal
    And the gateway connected to Threat Defense from 127.0.0.1
    And Threat Defense names 127.0.0.2 as the true sender

  Scenario: An SMTP-AUTH session to a local recipient is outgoing: delivered, never copied
    Given a running sandbox with the Threat Defense Connector enabled
    When an authenticated user sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    And the mail log shows "SMTP authentication succeeded for user: sandbox"
    And the mail log shows "matched all recipients for per-recipient policy DEFAULT in the outbound table"

  Scenario Outline: A <code> from the next hop is logged as the vendor's <kind> line, after its New SMTP DCID line
    Given a running sandbox with the Threat Defense Connector enabled
    And the mailbox host has the fault "reply:RCPT=<code>"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows these lines, in this order:
      | line                                                                                             |
      | MID <mid> queued for delivery                                                                    |
      | New SMTP DCID <dcid> interface 127.0.0.1 address 127.0.0.1 port <n>                              |
      | Delivery start DCID <dcid> MID <mid> to RID [0]                                                  |
      | <kind>: DCID <dcid> MID <mid> to RID 0 - <status> - Unknown address error ('<code>', ['<any>']) [] |
      | DCID <dcid> close                                                                                |

    Examples:
      | code | kind    | status |
      | 451  | Delayed | 4.0.0  |
      | 550  | Bounced | 5.1.0  |
