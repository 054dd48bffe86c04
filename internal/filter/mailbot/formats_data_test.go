package mailbot

// The expected replies were made by Courier's mailbot (Debian's maildrop 2.9.3) with TZ=UTC and
// LC_ALL=C; only the boundaries are blanked ("=_B") and the Arrival-Date set to the time given.

const plainMsg = `From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>
References: <r0@example.com>

line one
> quoted

  indented  
`

const mixedMsg = `From: ann@example.org
To: me@here
Subject: report
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

See the fil=
e.
--XX
Content-Type: application/octet-stream

AAAA
--XX--
`

var formatCases = []struct {
	name, msg string
	args      []string
	want      string
}{
	{"reply", plainMsg, []string{"-T", "reply"},
		`Precedence: junk
Auto-Submitted: auto-replied
To: Joe Brown <joe@example.com>
References: <r0@example.com>
            <m1@example.com>
In-Reply-To: <m1@example.com>
Subject: Re: hello
Mime-Version: 1.0
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

Joe Brown writes:

> line one
>> quoted
>
>   indented

I am away.


`},
	{"replyall", plainMsg, []string{"-T", "replyall", "-N"},
		`Precedence: junk
Auto-Submitted: auto-replied
To: Joe Brown <joe@example.com>
Cc: me@here, Ann <ann@example.org>, c@example.net
References: <r0@example.com>
            <m1@example.com>
In-Reply-To: <m1@example.com>
Subject: Re: hello
Mime-Version: 1.0
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.


`},
	{"dsn", plainMsg, []string{"-M", "dsn@here", "-N"},
		`Precedence: junk
Auto-Submitted: auto-replied
To: Joe Brown <joe@example.com>
References: <r0@example.com>
            <m1@example.com>
In-Reply-To: <m1@example.com>
Subject: Re: hello
Mime-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.



--=_B
Content-Type: message/delivery-status
Content-Transfer-Encoding: 7bit

Arrival-Date: Mon, 01 Jan 2024 12:00:00 +0000

Final-Recipient: rfc822; dsn@here
Action: delivered
Status: 2.0.0

--=_B
Content-Type: text/rfc822-headers; charset="utf-8"
Content-Disposition: attachment
Content-Transfer-Encoding: 8bit

From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>
References: <r0@example.com>

--=_B--
`},
	{"dsnfull", mixedMsg, []string{"-M", "dsn@here", "-a", "-A", "From: me@here"},
		`From: me@here
Precedence: junk
Auto-Submitted: auto-replied
To: ann@example.org
Subject: Re: report
Mime-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

ann@example.org writes:

> See the file.

I am away.



--=_B
Content-Type: message/delivery-status
Content-Transfer-Encoding: 7bit

Arrival-Date: Mon, 01 Jan 2024 12:00:00 +0000

Final-Recipient: rfc822; dsn@here
Action: delivered
Status: 2.0.0

--=_B
Content-Type: message/rfc822
Content-Disposition: attachment

From: ann@example.org
To: me@here
Subject: report
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

See the fil=
e.
--XX
Content-Type: application/octet-stream

AAAA
--XX--

--=_B--
`},
	{"fwd", plainMsg, []string{"-T", "forward"},
		`Precedence: junk
Auto-Submitted: auto-replied
Subject: hello (fwd)
Mime-Version: 1.0
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.


--- Forwarded message ---
From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>

line one
> quoted

   indented
`},
	{"fwdmixed", mixedMsg, []string{"-T", "forward", "-F", "=== fwd ==="},
		`Precedence: junk
Auto-Submitted: auto-replied
Subject: report (fwd)
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.


=== fwd ===
From: ann@example.org
To: me@here
Subject: report

See the file.

--=_B
Content-Type: application/octet-stream

AAAA
--=_B--
`},
	{"fwdatt", plainMsg, []string{"-T", "forwardatt"},
		`Precedence: junk
Auto-Submitted: auto-replied
Subject: hello (fwd)
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.


--- Forwarded message ---

--=_B
Content-Type: message/rfc822
Content-Description: Forwarded message

From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>
References: <r0@example.com>

line one
> quoted

  indented  

--=_B--
`},
	{"feedback", plainMsg, []string{"-T", "feedback", "-R", "abuse", "-N", "--feedback-source-ip", "192.0.2.1", "--feedback-REPORTED-domain", "example.com"},
		`Precedence: junk
Auto-Submitted: auto-replied
References: <r0@example.com>
            <m1@example.com>
In-Reply-To: <m1@example.com>
Subject: Re: hello
Mime-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
    boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

I am away.



--=_B
Content-Type: message/feedback-report
Content-Transfer-Encoding: 7bit

Arrival-Date: Mon, 01 Jan 2024 12:00:00 +0000
User-Agent: librfc2045 maildrop/2.9.3
Version: 1
Source-Ip: 192.0.2.1
Reported-Domain: example.com

--=_B
Content-Type: text/rfc822-headers; charset="utf-8"
Content-Disposition: attachment
Content-Transfer-Encoding: 8bit

From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>
References: <r0@example.com>

--=_B--
`},
	{"replyfeedback", mixedMsg, []string{"-T", "replyfeedback", "-R", "virus"},
		`Precedence: junk
Auto-Submitted: auto-replied
To: ann@example.org
Subject: report
Mime-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
    boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain; format=flowed; delsp=yes; charset="US-ASCII"
Content-Transfer-Encoding: 8bit

ann@example.org writes:

> See the file.

I am away.



--=_B
Content-Type: message/feedback-report
Content-Transfer-Encoding: 7bit

Arrival-Date: Mon, 01 Jan 2024 12:00:00 +0000
User-Agent: librfc2045 maildrop/2.9.3
Version: 1

--=_B
Content-Type: text/rfc822-headers; charset="utf-8"
Content-Disposition: attachment
Content-Transfer-Encoding: 8bit

From: ann@example.org
To: me@here
Subject: report
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--=_B--
`},
}

const draftWant = `Precedence: junk
Auto-Submitted: auto-replied
To: Joe Brown <joe@example.com>
References: <r0@example.com>
            <m1@example.com>
In-Reply-To: <m1@example.com>
Subject: Re: hello
Content-Type: multipart/mixed; boundary="=_B"

This is a MIME-formatted message.  If you see this text it means that your
E-mail software does not support MIME-formatted messages.

--=_B
Content-Type: text/plain

Vacation text.

--=_B
Content-Type: text/rfc822-headers; charset="utf-8"
Content-Disposition: attachment
Content-Transfer-Encoding: 8bit

From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: joe@example.com, c@example.net
Subject: Re: hello
Message-ID: <m1@example.com>
References: <r0@example.com>

--=_B--
`
