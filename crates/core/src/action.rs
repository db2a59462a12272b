//! What a contact is: a channel, a send window in the customer's local time, and a tone.

use crate::named_enum;
use chrono::{NaiveTime, Timelike};

named_enum!(
    /// A way of reaching a customer.
    Channel, "channel", {
        /// Text message.
        Sms => "sms",
        /// E-mail.
        Email => "email",
        /// Push notification or in-app message.
        Push => "push",
        /// Messaging app (WhatsApp, Telegram, …).
        Messaging => "messaging",
        /// Automated voice call (IVR).
        Ivr => "ivr",
        /// A call by a human agent.
        AgentCall => "agent_call",
        /// Paper letter.
        Letter => "letter",
    }
);

impl Channel {
    /// Whether the channel is a phone call (the call-frequency limits apply).
    pub const fn is_call(self) -> bool {
        matches!(self, Channel::Ivr | Channel::AgentCall)
    }

    /// Whether the channel is digital (text, e-mail, push, messaging).
    pub const fn is_digital(self) -> bool {
        matches!(
            self,
            Channel::Sms | Channel::Email | Channel::Push | Channel::Messaging
        )
    }

    /// Whether the message reaches the customer at the moment it is sent (calls, texts, pushes),
    /// so quiet hours apply to the moment of sending. E-mail and letters are read when the
    /// customer chooses, but forbear still sends them inside the allowed hours.
    pub const fn is_interruptive(self) -> bool {
        !matches!(self, Channel::Email | Channel::Letter)
    }
}

named_enum!(
    /// A slot of the customer's local day in which a contact is sent.
    SendWindow, "send window", {
        /// 08:00–10:00.
        H08To10 => "08-10",
        /// 10:00–12:00.
        H10To12 => "10-12",
        /// 12:00–14:00.
        H12To14 => "12-14",
        /// 14:00–17:00.
        H14To17 => "14-17",
        /// 17:00–19:00.
        H17To19 => "17-19",
        /// 19:00–21:00.
        H19To21 => "19-21",
    }
);

impl SendWindow {
    /// First hour of the window (inclusive), local time.
    pub const fn start_hour(self) -> u32 {
        match self {
            SendWindow::H08To10 => 8,
            SendWindow::H10To12 => 10,
            SendWindow::H12To14 => 12,
            SendWindow::H14To17 => 14,
            SendWindow::H17To19 => 17,
            SendWindow::H19To21 => 19,
        }
    }

    /// Hour at which the window closes (exclusive), local time.
    pub const fn end_hour(self) -> u32 {
        match self {
            SendWindow::H08To10 => 10,
            SendWindow::H10To12 => 12,
            SendWindow::H12To14 => 14,
            SendWindow::H14To17 => 17,
            SendWindow::H17To19 => 19,
            SendWindow::H19To21 => 21,
        }
    }

    /// Length of the window in minutes.
    pub const fn minutes(self) -> u32 {
        (self.end_hour() - self.start_hour()) * 60
    }

    /// The window a local time of day falls in, if any (none before 08:00 or from 21:00).
    pub fn containing(time: NaiveTime) -> Option<SendWindow> {
        let h = time.hour();
        SendWindow::ALL
            .iter()
            .copied()
            .find(|w| h >= w.start_hour() && h < w.end_hour())
    }

    /// Whether this is a working-hours window (weekday 08–17 is when many customers cannot
    /// take a call).
    pub const fn is_working_hours(self) -> bool {
        self.end_hour() <= 17
    }
}

named_enum!(
    /// The register of a message.
    Tone, "tone", {
        /// A friendly reminder.
        Friendly => "friendly",
        /// Empathetic and supportive, offering help.
        Empathetic => "empathetic",
        /// Neutral and informational.
        Neutral => "neutral",
        /// Firm and urgent, stating consequences.
        Firm => "firm",
    }
);

/// One contact decision: which channel, in which local send window, in which tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ContactAction {
    /// The channel.
    pub channel: Channel,
    /// The send window in the customer's local time.
    pub window: SendWindow,
    /// The tone.
    pub tone: Tone,
}

impl ContactAction {
    /// Number of distinct actions (channel × window × tone).
    pub const COUNT: usize = 7 * 6 * 4;

    /// A dense index in `0..COUNT`, stable across releases.
    pub const fn index(&self) -> usize {
        (self.channel.index() * 6 + self.window.index()) * 4 + self.tone.index()
    }

    /// The template key of this action in `language`: `"{channel}.{tone}.{language}"`.
    pub fn template_key(&self, language: &str) -> String {
        format!("{}.{}.{}", self.channel, self.tone, language)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), *c);
        }
        for w in SendWindow::ALL {
            assert_eq!(SendWindow::parse(w.as_str()).unwrap(), *w);
        }
        for t in Tone::ALL {
            assert_eq!(Tone::parse(t.as_str()).unwrap(), *t);
        }
    }

    #[test]
    fn unknown_names_list_the_expected_ones() {
        let err = Channel::parse("fax").unwrap_err().to_string();
        assert!(
            err.starts_with("unknown channel \"fax\": expected one of sms email"),
            "{err}"
        );
    }

    #[test]
    fn windows_cover_eight_to_twenty_one_without_gaps() {
        let mut hour = 8;
        for w in SendWindow::ALL {
            assert_eq!(w.start_hour(), hour);
            hour = w.end_hour();
        }
        assert_eq!(hour, 21);
        assert_eq!(
            SendWindow::containing(NaiveTime::from_hms_opt(7, 59, 0).unwrap()),
            None
        );
        assert_eq!(
            SendWindow::containing(NaiveTime::from_hms_opt(20, 59, 0).unwrap()),
            Some(SendWindow::H19To21)
        );
        assert_eq!(
            SendWindow::containing(NaiveTime::from_hms_opt(21, 0, 0).unwrap()),
            None
        );
    }

    #[test]
    fn action_indices_are_dense_and_unique() {
        let mut seen = [false; ContactAction::COUNT];
        for &channel in Channel::ALL {
            for &window in SendWindow::ALL {
                for &tone in Tone::ALL {
                    let i = ContactAction {
                        channel,
                        window,
                        tone,
                    }
                    .index();
                    assert!(!seen[i]);
                    seen[i] = true;
                }
            }
        }
        assert!(seen.iter().all(|s| *s));
    }
}
