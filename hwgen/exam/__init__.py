"""Paper exams: answer boxes shaped like the answers, QR-coded pages, answer keys as CSV, sorting scans back to
students, and grading the answers a TA typed into a sheet with the notebook grader's checks."""
